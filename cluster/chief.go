package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tfserver"
	"github.com/tfcifar/tfcifar/train"
)

// Chief is the chief's side of a cluster: its own server, and the checks
// of the workers.
type Chief struct {
	c       config.Cluster
	task    config.Task
	workers []config.Task
	server  *tfserver.Server
	target  string

	probe   *tf.Session
	version []tf.Output // the version variable of each worker, read on its device
	// failed is set once a worker did not answer: TensorFlow's session
	// close then waits for it without a deadline, so sessions are left to
	// the process's exit.
	failed atomic.Bool
}

// Start starts the chief's server for the run r in cluster c and checks
// every worker (Check). The caller must Close the Chief.
func Start(c config.Cluster, r config.Run, out io.Writer) (*Chief, error) {
	ch := &Chief{c: c, task: c.ChiefTask(), workers: c.Workers()}
	if err := failFast(); err != nil {
		return nil, err
	}
	var err error
	if ch.server, err = startServer(c, ch.task, r, out); err != nil {
		return nil, err
	}
	ch.target = ch.server.Target()
	if err := ch.openProbe(); err != nil {
		_ = ch.Close() // the probe's error is the one to report
		return nil, err
	}
	fmt.Fprintf(out, "cluster: chief %s at %s, %d workers: %s\n", ch.task, ch.target, len(ch.workers), ch.workerList())
	if err := ch.Check(); err != nil {
		_ = ch.Close() // the check's error is the one to report
		return nil, err
	}
	return ch, nil
}

// FailFastEnv is TensorFlow's switch for its gRPC calls to other tasks:
// with "true" a call to a task that cannot be reached fails at once
// (UNAVAILABLE) instead of waiting for the task to come back.
const FailFastEnv = "GRPC_FAIL_FAST"

// failFast sets FailFastEnv to true unless the environment sets it, once
// per process, before the chief's first session.
var failFast = sync.OnceValue(func() error {
	if _, ok := os.LookupEnv(FailFastEnv); ok {
		return nil
	}
	if err := os.Setenv(FailFastEnv, "true"); err != nil {
		return fmt.Errorf("cluster: set %s: %w", FailFastEnv, err)
	}
	return nil
})

// workerList names the workers with their addresses.
func (ch *Chief) workerList() string {
	names := make([]string, len(ch.workers))
	for i, w := range ch.workers {
		names[i] = w.String()
	}
	return strings.Join(names, ", ")
}

// openProbe builds the graph that reads each worker's version on its
// device and opens its session.
func (ch *Chief) openProbe() error {
	g := tf.NewGraph()
	root := op.NewScopeWithGraph(g)
	for i, w := range ch.workers {
		s := root.SubScope(fmt.Sprintf("probe_%d", i)).WithDevice(w.Device())
		h := op.VarHandleOp(s, tf.String, tf.ScalarShape(), op.VarHandleOpSharedName(versionVar))
		ch.version = append(ch.version, op.ReadVariableOp(s, h, tf.String))
	}
	if err := root.Err(); err != nil {
		return fmt.Errorf("cluster: probe graph: %w", err)
	}
	var err error
	ch.probe, err = openSession(g, ch.target, ch.c.Timeout, append([]config.Task{ch.task}, ch.workers...)...)
	return err
}

// Check asks every worker for its version, within cluster.timeout each
// (Explain: a quarter of it).
// It fails naming the first worker that does not answer, that is not a
// tfcifar worker, or whose tfcifar or libtensorflow differs from the
// chief's.
func (ch *Chief) Check() error { return ch.check(ch.c.Timeout) }

// check is Check with a timeout per worker.
func (ch *Chief) check(timeout time.Duration) error {
	for i, w := range ch.workers {
		out, err := bounded(timeout, func() ([]*tf.Tensor, error) {
			return ch.probe.Run(nil, []tf.Output{ch.version[i]}, nil)
		})
		switch {
		case err != nil && strings.Contains(err.Error(), versionVar):
			return fmt.Errorf("cluster: worker %s serves no tfcifar version: start it with tfcifar worker (%s)", w, Version())
		case err != nil:
			ch.failed.Store(true)
			return &WorkerError{Task: w, Err: shortTF(err)}
		}
		got, _ := out[0].Value().(string)
		if got != Version() {
			return fmt.Errorf("cluster: worker %s runs %s, the chief %s: run the same tfcifar binary and libtensorflow on every machine", w, got, Version())
		}
	}
	return nil
}

// WorkerError reports a worker that died or cannot be reached.
type WorkerError struct {
	Task config.Task
	Err  error
}

func (e *WorkerError) Error() string {
	return fmt.Sprintf("cluster: worker %s: %v", e.Task, e.Err)
}

func (e *WorkerError) Unwrap() error { return e.Err }

// Explain returns err, a failure of a distributed step, naming the worker
// it comes from: the first worker that fails Check. It returns err itself
// when every worker answers (or err is nil).
func (ch *Chief) Explain(err error) error {
	if err == nil {
		return nil
	}
	var we *WorkerError
	if errors.As(err, &we) {
		return err
	}
	if cerr := ch.check(diagnosis(ch.c.Timeout)); cerr != nil {
		return fmt.Errorf("%w; start it again and run the same command with -resume to continue from the last checkpoint", cerr)
	}
	return err
}

// shortTF shortens a TensorFlow error to its first line that says
// something (TensorFlow adds the gRPC details and its recent log lines).
func shortTF(err error) error {
	if errors.Is(err, errTimeout) {
		return err
	}
	msg := err.Error()
	const late = "no answer within cluster.timeout"
	for _, c := range []struct{ in, say string }{
		{"Connection refused", "connection refused"},
		{"Socket closed", "connection closed"},
		{"Connection reset", "connection reset"},
		{"failed to connect", "cannot connect"},
		{"DEADLINE_EXCEEDED", late},
		{"Deadline Exceeded", late},
		{"Timed out", late},
		{"timed out", late},
	} {
		if strings.Contains(msg, c.in) {
			return errors.New(c.say)
		}
	}
	for line := range strings.Lines(msg) {
		if line = strings.Trim(line, " \t\n="); line != "" && !strings.Contains(line, "From /job:") {
			return errors.New(line)
		}
	}
	return err
}

// A step may take three quarters of cluster.timeout, the check that
// names the worker that failed it the last quarter (at least a second
// each), so that a run whose worker hangs stops within cluster.timeout.
func stepTimeout(t time.Duration) time.Duration { return max(t-diagnosis(t), time.Second) }

func diagnosis(t time.Duration) time.Duration { return max(t/4, time.Second) }

// closeSession closes sess within timeout, or not at all once a worker
// failed (see Chief.failed); a close that takes longer goes on in the
// background.
func (ch *Chief) closeSession(sess *tf.Session) error {
	if ch.failed.Load() {
		return nil
	}
	_, err := bounded(ch.c.Timeout, func() ([]*tf.Tensor, error) { return nil, sess.Close() })
	return err
}

// Close closes the probe session and lets go of the chief's server.
func (ch *Chief) Close() error {
	var err error
	if ch.probe != nil {
		err = ch.closeSession(ch.probe)
		ch.probe = nil
	}
	if ch.server != nil {
		err = errors.Join(err, ch.server.Close())
		ch.server = nil
	}
	return err
}

// Hook checks the workers (Check) before every epoch, so that a run whose
// worker is gone stops at once, naming it.
func (ch *Chief) Hook() train.Hook {
	return train.Hook{EpochBegin: func(train.Progress) error { return ch.Check() }}
}
