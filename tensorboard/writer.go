package tensorboard

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/session"
)

// MaxTagLen is the longest tag, in bytes, a Writer accepts.
const MaxTagLen = 256

// File writer settings, those of TensorFlow's tf.summary.create_file_writer.
const (
	maxQueue       = 10      // events queued before a write to the file
	flushMillis    = 120_000 // longest time an event waits in the queue
	filenameSuffix = ".v2"   // ends the event file's name
)

// writers numbers the Writers of the process, naming their resources.
var writers atomic.Int64

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("tensorboard: writer closed")

// Writer appends summaries to one event file (events.out.tfevents.*) in a
// directory, through TensorFlow's summary ops in a graph and session of its
// own. Its methods are safe for concurrent use.
type Writer struct {
	dir string

	mu    sync.Mutex
	sess  *tf.Session // nil once closed
	graph *tf.Graph   // built once; calls add no ops

	step, tag, scalar, values, graphDef tf.Output // placeholders

	writeScalar, writeHistogram, writeGraph, flush, close *tf.Operation
}

// NewWriter creates dir and its parents and opens a new event file in it,
// in a session opened with the run settings r (threads, device). Each
// Writer has its own file, also when another Writer writes to dir.
func NewWriter(dir string, r config.Run) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %s: create log directory: %w", dir, err)
	}
	w := &Writer{dir: dir}
	g, err := w.build()
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %s: build summary graph: %w", dir, err)
	}
	sess, err := session.Open(g, r)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %s: %w", dir, err)
	}
	open := g.Operation("open")
	if _, err := sess.Run(nil, nil, []*tf.Operation{open}); err != nil {
		_ = sess.Close() // the open error is the one to report
		return nil, fmt.Errorf("tensorboard: %s: open event file: %w", dir, err)
	}
	w.sess, w.graph = sess, g
	return w, nil
}

// build makes the Writer's graph: the summary writer resource, an "open"
// op creating its event file in w.dir, and one op per kind of summary
// reading step, tag and value from placeholders, so calls add no ops.
func (w *Writer) build() (*tf.Graph, error) {
	s := op.NewScope()
	res := s.AddOperation(tf.OpSpec{
		Type:  "SummaryWriter",
		Name:  "writer",
		Attrs: map[string]any{"shared_name": fmt.Sprintf("tfcifar_tensorboard_%d", writers.Add(1))},
	})
	if s.Err() != nil {
		return nil, s.Err()
	}
	writer := res.Output(0)
	s.AddOperation(tf.OpSpec{
		Type: "CreateSummaryFileWriter",
		Name: "open",
		Input: []tf.Input{
			writer,
			op.Const(s.SubScope("logdir"), w.dir),
			op.Const(s.SubScope("max_queue"), int32(maxQueue)),
			op.Const(s.SubScope("flush_millis"), int32(flushMillis)),
			op.Const(s.SubScope("filename_suffix"), filenameSuffix),
		},
	})
	scalar := op.PlaceholderShape(tf.ScalarShape())
	w.step = op.Placeholder(s.SubScope("step"), tf.Int64, scalar)
	w.tag = op.Placeholder(s.SubScope("tag"), tf.String, scalar)
	w.scalar = op.Placeholder(s.SubScope("scalar"), tf.Double, scalar)
	w.values = op.Placeholder(s.SubScope("values"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1)))
	w.graphDef = op.Placeholder(s.SubScope("graph_def"), tf.String, scalar)
	w.writeScalar = op.WriteScalarSummary(s.SubScope("write_scalar"), writer, w.step, w.tag, w.scalar)
	w.writeHistogram = op.WriteHistogramSummary(s.SubScope("write_histogram"), writer, w.step, w.tag, w.values)
	w.writeGraph = op.WriteGraphSummary(s.SubScope("write_graph"), writer, w.step, w.graphDef)
	w.flush = s.AddOperation(tf.OpSpec{Type: "FlushSummaryWriter", Name: "flush", Input: []tf.Input{writer}})
	w.close = s.AddOperation(tf.OpSpec{Type: "CloseSummaryWriter", Name: "close", Input: []tf.Input{writer}})
	return s.Finalize()
}

// Dir returns the directory of the Writer's event file.
func (w *Writer) Dir() string { return w.dir }

// Scalar writes v under tag at step; TensorBoard shows it in its Scalars
// tab. step must not be negative.
func (w *Writer) Scalar(tag string, step int64, v float64) error {
	if err := w.check(tag, step); err != nil {
		return err
	}
	return w.run(w.writeScalar, "scalar "+tag, map[tf.Output]any{w.step: step, w.tag: tag, w.scalar: v})
}

// Histogram writes the distribution of values under tag at step;
// TensorBoard shows it in its Histograms and Distributions tabs. values
// must not be empty and must be finite.
func (w *Writer) Histogram(tag string, step int64, values []float32) error {
	if err := w.check(tag, step); err != nil {
		return err
	}
	if len(values) == 0 {
		return fmt.Errorf("tensorboard: %s: histogram %q: no values", w.dir, tag)
	}
	for i, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tensorboard: %s: histogram %q: value %d is %v, want a finite number", w.dir, tag, i, v)
		}
	}
	return w.run(w.writeHistogram, "histogram "+tag, map[tf.Output]any{w.step: step, w.tag: tag, w.values: values})
}

// Graph writes g, the graph a run trains, at step 0; TensorBoard shows it
// in its Graphs tab.
func (w *Writer) Graph(g *tf.Graph) error {
	if g == nil {
		return fmt.Errorf("tensorboard: %s: graph: nil graph", w.dir)
	}
	var def bytes.Buffer
	if _, err := g.WriteTo(&def); err != nil {
		return fmt.Errorf("tensorboard: %s: serialize graph: %w", w.dir, err)
	}
	return w.run(w.writeGraph, "graph", map[tf.Output]any{w.step: int64(0), w.graphDef: def.String()})
}

// Flush writes the queued summaries to the event file.
func (w *Writer) Flush() error {
	return w.run(w.flush, "flush", nil)
}

// Close flushes and closes the event file and releases the writer and its
// session. Closing a closed Writer does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess == nil {
		return nil
	}
	_, err := w.sess.Run(nil, nil, []*tf.Operation{w.close})
	if err != nil {
		err = fmt.Errorf("tensorboard: %s: close event file: %w", w.dir, err)
	}
	if cerr := w.sess.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("tensorboard: %s: close session: %w", w.dir, cerr)
	}
	w.sess = nil
	return err
}

// check validates a tag and a step.
func (w *Writer) check(tag string, step int64) error {
	switch {
	case tag == "":
		return fmt.Errorf("tensorboard: %s: empty tag", w.dir)
	case len(tag) > MaxTagLen:
		return fmt.Errorf("tensorboard: %s: tag %.40q...: %d bytes, want at most %d", w.dir, tag, len(tag), MaxTagLen)
	case !utf8.ValidString(tag):
		return fmt.Errorf("tensorboard: %s: tag %q: not UTF-8", w.dir, tag)
	case strings.IndexFunc(tag, unicode.IsControl) >= 0:
		return fmt.Errorf("tensorboard: %s: tag %q: has control characters", w.dir, tag)
	case step < 0:
		return fmt.Errorf("tensorboard: %s: tag %q: step %d, want 0 or more", w.dir, tag, step)
	}
	return nil
}

// run runs target with feeds converted to tensors; what names the summary
// in errors.
func (w *Writer) run(target *tf.Operation, what string, feeds map[tf.Output]any) error {
	in := make(map[tf.Output]*tf.Tensor, len(feeds))
	for o, v := range feeds {
		t, err := tf.NewTensor(v)
		if err != nil {
			return fmt.Errorf("tensorboard: %s: %s: %w", w.dir, what, err)
		}
		in[o] = t
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess == nil {
		return fmt.Errorf("%w: %s: %s", ErrClosed, w.dir, what)
	}
	if _, err := w.sess.Run(in, nil, []*tf.Operation{target}); err != nil {
		return fmt.Errorf("tensorboard: %s: %s: %w", w.dir, what, err)
	}
	return nil
}
