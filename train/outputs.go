package train

import (
	"context"
	"fmt"
	"runtime"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/session"
)

// outputBatch is how many examples Outputs runs through the graph at once.
const outputBatch = 500

// Outputs runs out, in inference mode, over every example of each set (in
// order), feeding the examples to m.Images, and returns its values, one
// row of out's size per example. The variables of m that out depends on
// are set to values (by Variable.Name; a variable of m without a value is
// left uninitialised, so out must not depend on it). It adds the
// assignments to g, the graph m was built in, under a name scope of their
// own, and runs them in a session configured from run. It stops with ctx's
// error between batches when ctx is done. It serves to compute once the
// outputs of a network's frozen, deterministic first layers.
func Outputs(ctx context.Context, run config.Run, g *tf.Graph, m *graph.Model, out tf.Output, values graph.Weights, sets ...Dataset) (_ [][]float32, err error) {
	if err := checkInputs(m.Images.Shape(), sets); err != nil {
		return nil, err
	}
	var vars []*graph.Variable
	for _, v := range m.Variables {
		if values[v.Name] != nil {
			vars = append(vars, v)
		}
	}
	s := op.NewScopeWithGraph(g).SubScope(freeName(g, "outputs"))
	assign, err := session.NewAssign(s, vars, values)
	if err != nil {
		return nil, fmt.Errorf("train: outputs: %w", err)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("train: outputs: build graph: %w", err)
	}
	sess, err := session.Open(g, run)
	if err != nil {
		return nil, fmt.Errorf("train: outputs: %w", err)
	}
	defer closer.Join(&err, sess)
	if err := assign.Run(sess, values); err != nil {
		return nil, fmt.Errorf("train: outputs: %w", err)
	}
	r := &outputRun{sess: sess, m: m, out: out, inputs: map[int]*buffer{}}
	if r.width, err = width(out.Shape()); err != nil {
		return nil, err
	}
	result := make([][]float32, len(sets))
	for i, set := range sets {
		if result[i], err = r.set(ctx, set); err != nil {
			return nil, err
		}
	}
	return result, nil
}

// checkInputs checks that the examples of every set fit images, the
// model's input (a [batch, ...] shape), and that the sets that can check
// themselves are sound.
func checkInputs(images tf.Shape, sets []Dataset) error {
	n, err := width(images)
	if err != nil {
		return err
	}
	for i, set := range sets {
		if set.Width() != n {
			return fmt.Errorf("train: outputs: set %d: %d values per example, the model's input %s takes %d", i, set.Width(), images, n)
		}
		if c, ok := set.(Checker); ok {
			if err := c.Check(); err != nil {
				return fmt.Errorf("train: outputs: set %d: %w", i, err)
			}
		}
	}
	return nil
}

// width returns the values of one example of a [batch, ...] shape.
func width(s tf.Shape) (int, error) {
	n := 1
	for i := 1; i < s.NumDimensions(); i++ {
		if s.Size(i) < 1 {
			return 0, fmt.Errorf("train: outputs: shape %s: want known sizes after the batch dimension", s)
		}
		n *= int(s.Size(i))
	}
	return n, nil
}

// outputRun is one call of Outputs.
type outputRun struct {
	sess    *tf.Session
	m       *graph.Model
	out     tf.Output
	width   int
	inputs  map[int]*buffer // by batch size: the full one and the last
	batches int
}

// set returns the outputs of every example of set.
func (r *outputRun) set(ctx context.Context, set Dataset) ([]float32, error) {
	n := set.Len()
	values := make([]float32, n*r.width)
	labels := make([]float32, outputBatch*set.NumClasses()) // unused
	idx := make([]int, 0, outputBatch)
	for start := 0; start < n; start += outputBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("train: outputs: %w", err)
		}
		idx = idx[:0]
		for i := start; i < min(start+outputBatch, n); i++ {
			idx = append(idx, i)
		}
		in, err := r.input(len(idx))
		if err != nil {
			return nil, err
		}
		set.FillTo(idx, in.floats(), labels)
		res, err := r.sess.Run(map[tf.Output]*tf.Tensor{r.m.Images: in.t}, []tf.Output{r.out}, nil)
		if err != nil {
			return nil, fmt.Errorf("train: outputs: %w", err)
		}
		if err := readFloats(res[0], values[start*r.width:(start+len(idx))*r.width]); err != nil {
			return nil, fmt.Errorf("train: outputs: %w", err)
		}
		// Fetched tensors live in C memory, freed by finalizers when the Go
		// heap is collected; collect every few batches so that they do not
		// pile up (each holds a whole batch of outputs, 6.4 MB for the
		// reference network; the collections cost about 1 % of the time).
		if r.batches++; r.batches%4 == 0 {
			runtime.GC()
		}
	}
	return values, nil
}

// input returns the reused input tensor for batches of n.
func (r *outputRun) input(n int) (*buffer, error) {
	if in, ok := r.inputs[n]; ok {
		return in, nil
	}
	shape := []int64{int64(n)}
	for i := 1; i < r.m.Images.Shape().NumDimensions(); i++ {
		shape = append(shape, r.m.Images.Shape().Size(i))
	}
	in, err := newBuffer(tf.Float, shape...)
	if err != nil {
		return nil, err
	}
	r.inputs[n] = in
	return in, nil
}
