package workflow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/cluster"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// TestRunOnCluster runs the reference workflow (base, then transfer with
// train.cache_frozen) on a chief and two workers served in this process,
// and checks that the transfer stage says it trains without the cache and
// that both stages end as a local run does.
func TestRunOnCluster(t *testing.T) {
	data := fixture(t, 300)
	local, err := Run(context.Background(), smallConfig(t, data), Options{})
	if err != nil {
		t.Fatal(err)
	}

	var addrs []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := smallConfig(t, data, fmt.Sprintf("cluster.jobs={chief: [%s], worker: [%s, %s]}", addrs[0], addrs[1], addrs[2]), "cluster.chief=chief:0")
	ctx, stop := context.WithCancel(context.Background())
	defer stop() // the servers themselves end with the test binary
	for i := range 2 {
		ready := make(chan struct{})
		go func() {
			w := &signal{ready: ready}
			if err := cluster.Serve(ctx, cfg.Cluster, cfg.Run, "worker", i, w); err != nil {
				t.Error(err)
				close(ready)
			}
		}()
		<-ready
	}
	var out bytes.Buffer
	dist, err := Run(context.Background(), cfg, Options{Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"2 workers: worker:0 (" + addrs[1] + ")", "train.cache_frozen: a distributed run does not cache the frozen layers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for i, s := range dist.Stages {
		l := local.Stages[i]
		if s.CachedLayers != 0 {
			t.Errorf("stage %s cached %d layers on a cluster", s.Name, s.CachedLayers)
		}
		g, w := s.Epochs[len(s.Epochs)-1], l.Epochs[len(l.Epochs)-1]
		if !tolerance.EqualWithinRel(g.Loss, w.Loss, 1e-4) || !tolerance.EqualWithinRel(g.ValLoss, w.ValLoss, 1e-4) {
			t.Errorf("stage %s: loss %.6f val_loss %.6f on the cluster, %.6f %.6f locally", s.Name, g.Loss, g.ValLoss, w.Loss, w.ValLoss)
		}
	}
}

// signal closes ready once a worker says it serves.
type signal struct {
	ready chan struct{}
	done  bool
}

func (s *signal) Write(p []byte) (int, error) {
	if !s.done && strings.Contains(string(p), "serving at") {
		s.done = true
		close(s.ready)
	}
	return len(p), nil
}

var _ io.Writer = (*signal)(nil)
