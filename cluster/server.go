package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/tfserver"
)

// Version identifies this binary to the other tasks of a cluster:
// tfcifar's module version and VCS commit (or, for a binary built without
// them, the SHA-256 of the executable), and the loaded libtensorflow.
// The chief refuses a worker whose Version differs from its own.
var Version = sync.OnceValue(func() string {
	v, commit := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				commit = " " + s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				commit += "+modified"
			}
		}
	}
	if commit == "" || strings.HasSuffix(commit, "+modified") {
		commit += " " + executableHash()
	}
	return "tfcifar " + v + commit + ", libtensorflow " + libtf.Version()
})

// executableHash returns "sha256:" and the first 16 hex digits of the
// running executable's hash, or "" when it cannot be read.
func executableHash() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }() // read only
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))[:len("sha256:")+16]
}

// versionVar is the shared name of the string variable in which a worker
// publishes its Version on its own device.
const versionVar = "tfcifar/version"

// serverDef returns the serialized ServerDef of task t of c; r gives the
// thread counts of the task's sessions.
func serverDef(c config.Cluster, t config.Task, r config.Run) ([]byte, error) {
	cd := &pb.ClusterDef{}
	for _, job := range slices.Sorted(maps.Keys(c.Jobs)) {
		tasks := map[int32]string{}
		for i, a := range c.Jobs[job] {
			tasks[int32(i)] = a
		}
		cd.Job = append(cd.Job, &pb.JobDef{Name: job, Tasks: tasks})
	}
	def := &pb.ServerDef{
		Cluster:   cd,
		JobName:   t.Job,
		TaskIndex: int32(t.Index),
		Protocol:  "grpc",
		DefaultSessionConfig: &pb.ConfigProto{
			IntraOpParallelismThreads: int32(r.IntraOpThreads),
			InterOpParallelismThreads: int32(r.InterOpThreads),
		},
	}
	b, err := proto.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("cluster: server def: %w", err)
	}
	return b, nil
}

// startServer checks that t's host is an address of this machine (warning
// on out when it is neither loopback nor private) and starts t's server.
func startServer(c config.Cluster, t config.Task, r config.Run, out io.Writer) (*tfserver.Server, error) {
	if err := checkLocal(t, out); err != nil {
		return nil, err
	}
	def, err := serverDef(c, t, r)
	if err != nil {
		return nil, err
	}
	s, err := tfserver.New(def)
	if err != nil {
		return nil, fmt.Errorf("cluster: task %s: %w", t, err)
	}
	if err := s.Start(); err != nil {
		_ = s.Close() // the start error is the one to report
		return nil, fmt.Errorf("cluster: task %s: %w", t, err)
	}
	return s, nil
}

// checkLocal fails when t's host is not an address of this machine, and
// warns when it is reachable from outside private networks.
func checkLocal(t config.Task, out io.Writer) error {
	host, _, err := net.SplitHostPort(t.Address)
	if err != nil {
		return fmt.Errorf("cluster: task %s: %w", t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("cluster: task %s: resolve %s: %w", t, host, err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fmt.Errorf("cluster: list this machine's addresses: %w", err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() && !slices.ContainsFunc(addrs, func(a net.Addr) bool {
			n, ok := a.(*net.IPNet)
			return ok && n.IP.Equal(ip)
		}) {
			continue
		}
		if !ip.IsLoopback() && !ip.IsPrivate() {
			fmt.Fprintf(out, "warning: task %s has the public address %s: TensorFlow's gRPC servers are unauthenticated, anyone who reaches the port can run code in this process; use a trusted network\n", t, ip)
		}
		return nil
	}
	return fmt.Errorf("cluster: task %s: %s is not an address of this machine (start each task on the machine its address names)", t, host)
}

// Serve runs task index of job as a worker until ctx is done: it starts
// the task's TensorFlow server, publishes Version on the task's device for
// the chief to check, prints the task's address and serves. TensorFlow
// cannot stop its server cleanly, so the process must exit once Serve
// returns.
func Serve(ctx context.Context, c config.Cluster, r config.Run, job string, index int, out io.Writer) error {
	t, ok := c.Task(job, index)
	if !ok {
		return fmt.Errorf("cluster: task %s:%d is not in cluster.jobs", job, index)
	}
	if ch := c.ChiefTask(); ch.Job == t.Job && ch.Index == t.Index {
		return fmt.Errorf("cluster: task %s is the chief: run the workflow (tfcifar -config FILE) there, not a worker", t)
	}
	s, err := startServer(c, t, r, out)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }() // a started server ends with the process
	if err := publish(s.Target(), t, Version(), c.Timeout); err != nil {
		return err
	}
	fmt.Fprintf(out, "worker %s serving at %s (%s); stop with Ctrl-C or SIGTERM\n", t, s.Target(), Version())
	<-ctx.Done()
	fmt.Fprintf(out, "worker %s stopped\n", t)
	return nil
}

// publish stores version in a string variable on t's device, through a
// session on t's own server.
func publish(target string, t config.Task, version string, timeout time.Duration) error {
	g := tf.NewGraph()
	s := op.NewScopeWithGraph(g).WithDevice(t.Device())
	h := op.VarHandleOp(s, tf.String, tf.ScalarShape(), op.VarHandleOpSharedName(versionVar))
	set := op.AssignVariableOp(s, h, op.Const(s, version))
	if err := s.Err(); err != nil {
		return fmt.Errorf("cluster: version graph: %w", err)
	}
	sess, err := openSession(g, target, timeout, t)
	if err != nil {
		return err
	}
	defer func() { _ = sess.Close() }()
	if _, err := bounded(timeout, func() ([]*tf.Tensor, error) { return sess.Run(nil, nil, []*tf.Operation{set}) }); err != nil {
		return fmt.Errorf("cluster: task %s: publish version: %w", t, err)
	}
	return nil
}

// openSession opens a session on the server at target whose every run
// ends within timeout and that sees only the devices of tasks (the
// master of a session otherwise waits for every task of the cluster).
func openSession(g *tf.Graph, target string, timeout time.Duration, tasks ...config.Task) (*tf.Session, error) {
	b, err := proto.Marshal(&pb.ConfigProto{OperationTimeoutInMs: timeout.Milliseconds(), DeviceFilters: filters(tasks)})
	if err != nil {
		return nil, fmt.Errorf("cluster: session config: %w", err)
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: target, Config: b})
	if err != nil {
		return nil, fmt.Errorf("cluster: open session on %s: %w", target, err)
	}
	return sess, nil
}

// errTimeout reports a run that did not end within the timeout.
var errTimeout = errors.New("no answer")

// bounded runs f and returns its result, or errTimeout once timeout has
// passed (f then finishes in the background): a backstop to the
// sessions' own operation timeout.
func bounded(timeout time.Duration, f func() ([]*tf.Tensor, error)) ([]*tf.Tensor, error) {
	type result struct {
		out []*tf.Tensor
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := f()
		done <- result{out, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.out, r.err
	case <-timer.C:
		return nil, fmt.Errorf("%w within %v", errTimeout, timeout)
	}
}

// filters returns the device filters of tasks: /job:worker/task:1, ...
func filters(tasks []config.Task) []string {
	f := make([]string, len(tasks))
	for i, t := range tasks {
		f[i] = fmt.Sprintf("/job:%s/task:%d", t.Job, t.Index)
	}
	return f
}
