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
	"github.com/tfcifar/tfcifar/internal/profile"
	"github.com/tfcifar/tfcifar/internal/session"
)

// outputBatch is how many examples Outputs runs through the graph at once
// (250 to 1,000 ran at the same speed; fewer take less memory).
const outputBatch = 250

// Outputs runs out, in inference mode, over every example of each set (in
// order), feeding the examples to m.Images, and returns its values, one
// row of out's size per example. The variables of m that out depends on
// are set to values (by Variable.Name; a variable of m without a value is
// left uninitialised, so out must not depend on it). It adds the
// assignments to g, the graph m was built in, under a name scope of their
// own, and runs them in a session configured from run. It stops with ctx's
// error between batches when ctx is done; a profile.Phase that ctx carries
// (profile.WithPhase) traces some of its batches. It serves to compute
// once the outputs of a network's frozen, deterministic first layers.
func Outputs(ctx context.Context, run config.Run, g *tf.Graph, m *graph.Model, out tf.Output, values graph.Weights, sets ...Dataset) ([][]float32, error) {
	w, err := width(out.Shape())
	if err != nil {
		return nil, err
	}
	result := make([][]float32, len(sets))
	sinks := make([]Sink, len(sets))
	for i, set := range sets {
		result[i] = make([]float32, 0, set.Len()*w)
		sinks[i] = (*denseSink)(&result[i])
	}
	if err := OutputsTo(ctx, run, g, m, out, values, sets, sinks); err != nil {
		return nil, err
	}
	return result, nil
}

// Sink receives the outputs that OutputsTo computes over one set: Add is
// called once per batch, in order and one call at a time (on another
// goroutine than OutputsTo's, while the next batch runs), with the
// batch's rows (a whole number of examples of the output's size). rows is
// valid only during the call. An error of Add stops OutputsTo, which
// returns it.
// A cifar.PackedFeatures is a Sink that keeps them without their zeros.
type Sink interface {
	Add(rows []float32) error
}

// denseSink appends the rows to a slice.
type denseSink []float32

func (d *denseSink) Add(rows []float32) error {
	*d = append(*d, rows...)
	return nil
}

// OutputsTo is Outputs handing the values of sets[i] to sinks[i], batch by
// batch, instead of returning them: a sink may keep them in less memory
// than a slice of all of them would take.
func OutputsTo(ctx context.Context, run config.Run, g *tf.Graph, m *graph.Model, out tf.Output, values graph.Weights, sets []Dataset, sinks []Sink) (err error) {
	if len(sinks) != len(sets) {
		return fmt.Errorf("train: outputs: %d sinks for %d sets", len(sinks), len(sets))
	}
	if err := checkInputs(m.Images.Shape(), sets); err != nil {
		return err
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
		return fmt.Errorf("train: outputs: %w", err)
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("train: outputs: build graph: %w", err)
	}
	sess, err := session.Open(g, run)
	if err != nil {
		return fmt.Errorf("train: outputs: %w", err)
	}
	defer closer.Join(&err, sess)
	if err := assign.Run(sess, values); err != nil {
		return fmt.Errorf("train: outputs: %w", err)
	}
	r := &outputRun{sess: sess, prof: profile.PhaseOf(ctx), m: m, out: out, inputs: map[int]*buffer{}}
	if r.width, err = width(out.Shape()); err != nil {
		return err
	}
	for i, set := range sets {
		if err := r.set(ctx, set, sinks[i]); err != nil {
			return err
		}
	}
	return nil
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
	prof    *profile.Phase // from the context (profile.WithPhase), else nil
	m       *graph.Model
	out     tf.Output
	width   int
	inputs  map[int]*buffer // by batch size: the full one and the last
	batches int
}

// set hands the outputs of every example of set to sink. Each batch is
// handed over on another goroutine while the next one runs.
func (r *outputRun) set(ctx context.Context, set Dataset, sink Sink) (err error) {
	h := &handOver{sink: sink, done: make(chan error, 1)}
	defer func() {
		if werr := h.wait(); err == nil {
			err = werr
		}
	}()
	n := set.Len()
	labels := make([]float32, outputBatch*set.NumClasses()) // unused
	idx := make([]int, 0, outputBatch)
	for start := 0; start < n; start += outputBatch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("train: outputs: %w", err)
		}
		idx = idx[:0]
		for i := start; i < min(start+outputBatch, n); i++ {
			idx = append(idx, i)
		}
		in, err := r.input(len(idx))
		if err != nil {
			return err
		}
		if err := set.FillTo(idx, in.floats(), labels); err != nil {
			return fmt.Errorf("train: outputs: %w", err)
		}
		res, err := r.prof.Run(r.sess, map[tf.Output]*tf.Tensor{r.m.Images: in.t}, []tf.Output{r.out}, nil)
		if err != nil {
			return fmt.Errorf("train: outputs: %w", err)
		}
		var g grab
		if _, err := res[0].WriteContentsTo(&g); err != nil {
			return fmt.Errorf("train: outputs: %w", err)
		}
		if len(g.b) != len(idx)*r.width*4 {
			return fmt.Errorf("train: outputs: a batch of %d bytes, want %d examples of %d floats", len(g.b), len(idx), r.width)
		}
		if err := h.wait(); err != nil {
			return err
		}
		h.start(res[0], (&buffer{data: g.b}).floats())
		// Fetched tensors live in C memory, freed by finalizers when the Go
		// heap is collected; collect every few batches so that they do not
		// pile up (each holds a whole batch of outputs: 3.2 MB on the
		// reference network).
		if r.batches++; r.batches%4 == 0 {
			runtime.GC()
		}
	}
	return nil
}

// handOver gives batches of outputs to a sink on a goroutine, one at a
// time.
type handOver struct {
	sink Sink
	done chan error
	busy bool
}

// start hands rows, the memory of t, to the sink.
func (h *handOver) start(t *tf.Tensor, rows []float32) {
	h.busy = true
	go func() {
		defer func() {
			if r := recover(); r != nil {
				h.done <- fmt.Errorf("train: outputs: the sink's Add panicked: %v", r)
			}
		}()
		err := h.sink.Add(rows)
		runtime.KeepAlive(t)
		h.done <- err
	}()
}

// wait waits for the batch handed over last, if any, and returns the
// error of its Add.
func (h *handOver) wait() error {
	if !h.busy {
		return nil
	}
	h.busy = false
	return <-h.done
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
