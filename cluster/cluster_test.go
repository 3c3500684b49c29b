package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// baseConfig is the reference base network, two epochs in batches of 10
// (so that an epoch is long enough to kill a worker in it), on pixels
// scaled to [0, 1]: on raw 0-255 pixels its first steps have losses
// around 12, which amplify the rounding differences of the two summation
// orders over a hundred small steps (2% apart after two epochs, against
// 1e-7 in batches of 50).
const baseConfig = `
data: {scale: 0.00392156862745098}
run: {tensorboard: false, progress: lines}
stages:
  - name: base
    classes: [0, 1, 2, 3, 4]
    model:
      input: [32, 32, 3]
      layers:
        - {type: conv2d, filters: 8, kernel: 5, activation: relu}
        - {type: conv2d, filters: 16, kernel: 5, activation: relu}
        - {type: maxpool2d, pool: 2}
        - {type: conv2d, filters: 32, kernel: 3, activation: relu}
        - {type: flatten}
        - {type: dropout, rate: 0.4}
        - {type: dense, units: 128}
        - {type: activation, activation: relu}
        - {type: dense, units: 5}
        - {type: activation, activation: softmax}
    train: {epochs: 2, batch_size: 10}
`

// Tolerances: a distributed step sums the examples' gradients in another
// order than one process does (per shard, then across shards), so metrics
// agree up to float32 rounding; a resumed distributed run repeats the
// same sums in the same order.
const (
	localTol  = 1e-5 // relative, distributed vs single-process
	resumeTol = 1e-9 // relative, resumed vs uninterrupted distributed
	timeout   = 5 * time.Second
)

// TestLoopbackCluster trains the reference base network on a slice of real
// CIFAR-10 in one process and on a chief with two workers (separate
// tfcifar worker processes on loopback), compares their per-epoch metrics
// and exports, then kills a worker in the middle of the second epoch,
// checks that the run stops in time naming it, restarts it and resumes.
func TestLoopbackCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tfcifar and trains on a three-process cluster")
	}
	bin := build(t)
	data := realSlice(t, 200)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "base.yaml")
	if err := os.WriteFile(cfgFile, []byte(baseConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 3)
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	common := []string{"-config", cfgFile, "-data", data}
	clusterSets := append(common,
		"-set", fmt.Sprintf("cluster.jobs={chief: [%s], worker: [%s, %s]}", addr(0), addr(1), addr(2)),
		"-set", "cluster.chief=chief:0", "-set", "cluster.timeout="+timeout.String())

	local := filepath.Join(dir, "local")
	if out, code := run(t, bin, append(common, "-out", local)...); code != 0 {
		t.Fatalf("single-process run: exit %d\n%s", code, out)
	}
	worker := func(i int) *process {
		return start(t, bin, "serving at", append(clusterSets, "worker", "-task", fmt.Sprint(i))...)
	}
	worker(0)
	w1 := worker(1)

	dist := filepath.Join(dir, "dist")
	out, code := run(t, bin, append(clusterSets, "-out", dist)...)
	if code != 0 {
		t.Fatalf("distributed run: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "2 workers: worker:0 ("+addr(1)+"), worker:1 ("+addr(2)+")") {
		t.Errorf("the chief does not list its workers:\n%s", out)
	}
	want, got := history(t, local), history(t, dist)
	compare(t, "distributed vs single-process", want, got, localTol)
	evLocal, evDist := eval(t, bin, local, data), eval(t, bin, dist, data)
	if !tolerance.EqualWithinRel(evLocal.Loss, evDist.Loss, localTol) || evLocal.Accuracy != evDist.Accuracy {
		t.Errorf("eval of the exports: local loss %.7f accuracy %.4f, distributed loss %.7f accuracy %.4f", evLocal.Loss, evLocal.Accuracy, evDist.Loss, evDist.Accuracy)
	}

	// Kill worker 1 in the middle of epoch 2.
	killed := filepath.Join(dir, "killed")
	chief := start(t, bin, "", append(clusterSets, "-out", killed)...)
	chief.waitFor(t, "Epoch 2/2")
	chief.waitFor(t, "/48 - ETA") // a few steps into the epoch
	w1.kill(t)
	stopped := time.Now()
	code = chief.wait(t)
	elapsed := time.Since(stopped)
	t.Logf("chief exited %d, %v after worker 1 was killed:\n%s", code, elapsed.Round(time.Millisecond), lastLines(chief.output(), 2))
	if code != 1 {
		t.Errorf("chief exit code %d, want 1", code)
	}
	if elapsed > timeout+5*time.Second {
		t.Errorf("chief stopped %v after the kill, want within cluster.timeout %v (+5s)", elapsed, timeout)
	}
	if msg := "worker worker:1 (" + addr(2) + ")"; !strings.Contains(chief.output(), msg) {
		t.Errorf("the chief's error does not name %q:\n%s", msg, lastLines(chief.output(), 3))
	}

	w1 = worker(1)
	out, code = run(t, bin, append(clusterSets, "-out", killed, "-resume")...)
	if code != 0 {
		t.Fatalf("resumed run: exit %d\n%s", code, out)
	}
	compare(t, "resumed vs uninterrupted distributed", got, history(t, killed), resumeTol)

	// A worker that hangs (SIGSTOP) holds up a step: the run stops within
	// cluster.timeout all the same.
	chief = start(t, bin, "", append(clusterSets, "-out", filepath.Join(dir, "hung"))...)
	chief.waitFor(t, "/48 - ETA")
	if err := syscall.Kill(-w1.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped = time.Now()
	code = chief.wait(t)
	elapsed = time.Since(stopped)
	t.Logf("chief exited %d, %v after worker 1 was stopped:\n%s", code, elapsed.Round(time.Millisecond), lastLines(chief.output(), 1))
	if code != 1 || elapsed > timeout+2*time.Second || !strings.Contains(chief.output(), "worker worker:1 ("+addr(2)+"): no answer within") {
		t.Errorf("hung worker: exit %d after %v, want 1 within cluster.timeout %v (+2s) naming worker:1:\n%s", code, elapsed, timeout, lastLines(chief.output(), 2))
	}
}

// build compiles tfcifar into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tfcifar")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tfcifar")
	cmd.Dir = cifartest.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// realSlice writes the first n images of each real CIFAR-10 file to a
// directory of its own and returns it.
func realSlice(t *testing.T, n int) string {
	t.Helper()
	src := cifartest.RealDir(t)
	dst := filepath.Join(t.TempDir(), cifar.DirName)
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for _, f := range files {
		copyPrefix(t, filepath.Join(src, f), filepath.Join(dst, f), int64(n)*(1+cifar.ImageSize))
	}
	copyPrefix(t, filepath.Join(src, "batches.meta.txt"), filepath.Join(dst, "batches.meta.txt"), 1<<20)
	return dst
}

func copyPrefix(t *testing.T, from, to string, n int64) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b, err := io.ReadAll(io.LimitReader(in, n))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port) //nolint:forcetypeassert // a tcp listener's address
	}
	for _, l := range ls {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return ports
}

// process is a tfcifar process started by a test, in a process group of
// its own that the test's cleanup kills.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	line chan string
	done chan struct{}
}

// start starts tfcifar with args and, unless ready is "", waits until its
// output has a line containing ready.
func start(t *testing.T, bin, ready string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), line: make(chan string, 1024), done: make(chan struct{})}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=1")
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.line <- s.Text():
			default:
			}
		}
	}()
	go func() {
		_ = p.cmd.Wait() // the exit code is read from ProcessState
		_ = w.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	if ready != "" {
		p.waitFor(t, ready)
	}
	return p
}

// waitFor waits, at most a minute, for a line of output containing s.
func (p *process) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case l := <-p.line:
			if strings.Contains(l, s) {
				return
			}
		case <-p.done:
			t.Fatalf("%s ended before printing %q:\n%s", p.cmd.Args[0], s, p.output())
		case <-deadline:
			t.Fatalf("no %q within a minute:\n%s", s, p.output())
		}
	}
}

// wait waits, at most a minute, for the process to end and returns its
// exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		t.Fatalf("still running after a minute:\n%s", p.output())
		return -1
	}
}

// kill kills the process group and waits for it to end.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// run runs tfcifar with args, at most two minutes, and returns its output
// and exit code.
func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("tfcifar %v: %v\n%s", args, err, out)
	return "", -1
}

// epoch holds the metrics history.json records for an epoch.
type epoch struct {
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
}

// history reads the epochs of the base stage of the run dir.
func history(t *testing.T, runDir string) []epoch {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "base", "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Epochs []epoch }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Epochs
}

// compare checks that two histories have the same epochs with metrics
// equal within the relative tolerance tol.
func compare(t *testing.T, what string, want, got []epoch, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d epochs, want %d", what, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		t.Logf("%s, epoch %d: loss %.9f / %.9f, accuracy %.6f / %.6f, val_loss %.9f / %.9f, val_accuracy %.6f / %.6f",
			what, i+1, w.Loss, g.Loss, w.Accuracy, g.Accuracy, w.ValLoss, g.ValLoss, w.ValAccuracy, g.ValAccuracy)
		for _, m := range []struct {
			name string
			a, b float64
		}{{"loss", w.Loss, g.Loss}, {"accuracy", w.Accuracy, g.Accuracy}, {"val_loss", w.ValLoss, g.ValLoss}, {"val_accuracy", w.ValAccuracy, g.ValAccuracy}} {
			if !tolerance.EqualWithinRel(m.a, m.b, tol) {
				t.Errorf("%s, epoch %d: %s %.9g, want %.9g (relative tolerance %g)", what, i+1, m.name, m.b, m.a, tol)
			}
		}
	}
}

// evaluation is what tfcifar eval -json prints.
type evaluation struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// eval evaluates the base export of the run dir on the validation split.
func eval(t *testing.T, bin, runDir, data string) evaluation {
	t.Helper()
	out, code := run(t, bin, "eval", "-model", filepath.Join(runDir, "base", "model"), "-data", data, "-json")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, out)
	}
	var ev evaluation
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &ev); err != nil {
		t.Fatalf("eval output: %v\n%s", err, out)
	}
	return ev
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
