package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// loopback returns a cluster of a chief and n workers on free loopback
// ports.
func loopback(t *testing.T, n int) config.Cluster {
	t.Helper()
	c := config.DefaultCluster()
	c.Timeout = 3 * time.Second
	c.Chief = "chief:0"
	c.Jobs = map[string][]string{}
	for i := range n + 1 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		job := config.WorkerJob
		if i == 0 {
			job = "chief"
		}
		c.Jobs[job] = append(c.Jobs[job], l.Addr().String())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// serveWorker starts worker 0 of c in this process and, unless version
// is "", publishes it as the worker's version. (TensorFlow cannot stop a
// server: it ends with the test binary.)
func serveWorker(t *testing.T, c config.Cluster, version string) { serveTask(t, c, 0, version) }

// serveTask is serveWorker for worker i.
func serveTask(t *testing.T, c config.Cluster, i int, version string) {
	t.Helper()
	w := c.Workers()[i]
	s, err := startServer(c, w, config.Run{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		if err := publish(s.Target(), w, version, c.Timeout); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStartRefusesWorkers checks the chief's refusals at start: a worker
// of another version, a TensorFlow server that is no tfcifar worker, a
// worker nobody serves.
func TestStartRefusesWorkers(t *testing.T) {
	tests := []struct {
		desc    string
		serve   bool
		version string
		want    string
	}{
		{"other version", true, "tfcifar v0.0.1, libtensorflow 2.20.0", "runs tfcifar v0.0.1, libtensorflow 2.20.0, the chief " + Version()},
		{"not a tfcifar worker", true, "", "serves no tfcifar version: start it with tfcifar worker"},
		{"nobody there", false, "", "): connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := loopback(t, 1)
			if tc.serve {
				serveWorker(t, c, tc.version)
			}
			begin := time.Now()
			ch, err := Start(c, config.Run{}, io.Discard)
			if err == nil {
				_ = ch.Close()
				t.Fatalf("Start succeeded, want an error containing %q", tc.want)
			}
			w := c.Workers()[0]
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fmt.Sprintf("worker %s", w)) {
				t.Errorf("error %q\nwant it to name %s and contain %q", err, w, tc.want)
			}
			if d := time.Since(begin); d > c.Timeout+2*time.Second {
				t.Errorf("Start took %v, want within cluster.timeout %v", d, c.Timeout)
			}
		})
	}
}

// TestStartAcceptsWorker checks that a worker of this binary passes.
func TestStartAcceptsWorker(t *testing.T) {
	c := loopback(t, 1)
	serveWorker(t, c, Version())
	ch, err := Start(c, config.Run{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Check(); err != nil {
		t.Error(err)
	}
	if err := ch.Close(); err != nil {
		t.Error(err)
	}
}

// TestSplitRefusesTrainingBatchnorm checks that a batchnorm that trains is
// refused and a frozen one is not.
func TestSplitRefusesTrainingBatchnorm(t *testing.T) {
	ch := &Chief{}
	net := config.Network{Input: []int{8, 8, 3}, Layers: []config.Layer{{Type: config.BatchNormalization, Name: "batch_normalization"}}}
	if _, err := ch.Split(net, graphOptions(), nil, nil); err == nil || !strings.Contains(err.Error(), "layer batch_normalization: a batchnorm that trains") {
		t.Errorf("training batchnorm: error %v", err)
	}
	net.Layers[0].Frozen = true
	if _, err := ch.Split(net, graphOptions(), nil, nil); err != nil {
		t.Errorf("frozen batchnorm: %v", err)
	}
}

func graphOptions() graph.Options { return graph.Options{Seed: 1} }

// TestServeRefusesOtherMachine checks that a worker does not start for a
// task whose address is not one of this machine's.
func TestServeRefusesOtherMachine(t *testing.T) {
	c := loopback(t, 1)
	c.Jobs[config.WorkerJob] = []string{"192.0.2.7:2222"} // TEST-NET-1, never local
	err := Serve(t.Context(), c, config.Run{}, config.WorkerJob, 0, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "task worker:0 (192.0.2.7:2222): 192.0.2.7 is not an address of this machine") {
		t.Errorf("Serve: %v", err)
	}
	if err := Serve(t.Context(), c, config.Run{}, "chief", 0, io.Discard); err == nil || !strings.Contains(err.Error(), "is the chief") {
		t.Errorf("Serve of the chief's task: %v", err)
	}
}

// TestShortTF checks the short reasons given for TensorFlow's errors.
func TestShortTF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"UNAVAILABLE: From /job:worker/replica:0/task:1:\nfailed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused", "connection refused"},
		{"UNAVAILABLE: From /job:worker/replica:0/task:1:\nfailed to connect to all addresses; getsockopt(SO_ERROR): Connection reset by peer", "connection reset"},
		{"From /job:worker/replica:0/task:1:\nSocket closed", "connection closed"},
		{"DEADLINE_EXCEEDED: Timed out", "no answer within cluster.timeout"},
		{"=====\nINTERNAL: From /job:worker/replica:0/task:0:\nsomething odd\nmore", "something odd"},
	}
	for _, tc := range tests {
		if got := shortTF(errors.New(tc.in)).Error(); got != tc.want {
			t.Errorf("shortTF(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
