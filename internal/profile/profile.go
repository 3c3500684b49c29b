package profile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// Recorder traces, of each phase, the calls after the first Warmup, Steps
// of them, and keeps their aggregate. Its methods are safe for concurrent
// use; a nil *Recorder traces nothing.
type Recorder struct {
	Warmup, Steps int

	prefix string
	all    *phases
}

// phases are a Recorder's phases in their order of first use.
type phases struct {
	sync.Mutex
	list []*Phase
}

// New returns a Recorder tracing steps calls of each phase after warmup
// calls.
func New(warmup, steps int) *Recorder {
	return &Recorder{Warmup: warmup, Steps: steps, all: &phases{}}
}

// Sub returns a Recorder whose phases are named "prefix: name" and kept
// in r (nil for a nil r).
func (r *Recorder) Sub(prefix string) *Recorder {
	if r == nil {
		return nil
	}
	s := *r
	s.prefix = r.name(prefix)
	return &s
}

func (r *Recorder) name(n string) string {
	if r.prefix == "" {
		return n
	}
	return r.prefix + ": " + n
}

// Phase returns the phase called name (with r's prefix), made on first
// use; nil for a nil r.
func (r *Recorder) Phase(name string) *Phase {
	if r == nil {
		return nil
	}
	name = r.name(name)
	r.all.Lock()
	defer r.all.Unlock()
	for _, p := range r.all.list {
		if p.Name == name {
			return p
		}
	}
	p := &Phase{Name: name, warmup: r.Warmup, steps: r.Steps, nodes: map[string]*Node{}}
	r.all.list = append(r.all.list, p)
	return p
}

// Phases returns r's phases (all of them, whatever r's prefix) in their
// order of first use.
func (r *Recorder) Phases() []*Phase {
	if r == nil {
		return nil
	}
	r.all.Lock()
	defer r.all.Unlock()
	return append([]*Phase(nil), r.all.list...)
}

// Phase is one kind of step (such as a stage's training step) and the
// aggregate of its traced calls.
type Phase struct {
	Name string

	mu            sync.Mutex
	warmup, steps int
	calls         int           // calls of Run, traced or not
	traced        int           // traced calls
	run           time.Duration // Session.Run time of the traced calls, measured by the caller's clock
	span          time.Duration // executor time of the traced calls: first node start to last node end
	nodes         map[string]*Node
}

// Node is one node of a phase's graph as it ran: its op type and its
// summed time over the traced calls. FLOPs are those of one call (0 when
// not counted, see FLOPs).
type Node struct {
	Name, Op string
	Calls    int
	Time     time.Duration
	FLOPs    float64
}

// Run runs sess as sess.Run does; when the call is one of the phase's
// traced ones it runs it with the full trace and adds the trace to the
// phase. A nil p always runs sess.Run.
func (p *Phase) Run(sess *tf.Session, feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]*tf.Tensor, error) {
	if p == nil || !p.next() {
		return sess.Run(feeds, fetches, targets)
	}
	start := time.Now()
	out, md, err := Run(sess, feeds, fetches, targets)
	if err != nil {
		return nil, err
	}
	return out, p.Add(md, time.Since(start))
}

// next counts a call and reports whether to trace it.
func (p *Phase) next() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.calls > p.warmup && p.calls <= p.warmup+p.steps
}

// Add adds one traced call, whose Session.Run took run, to the phase.
func (p *Phase) Add(md *pb.RunMetadata, run time.Duration) error {
	stats := md.GetStepStats()
	if stats == nil || len(stats.DevStats) == 0 {
		return fmt.Errorf("profile: %s: the run returned no step stats", p.Name)
	}
	defs := map[string]*npb.NodeDef{}
	for _, g := range md.PartitionGraphs {
		for _, n := range g.Node {
			defs[n.Name] = n
		}
	}
	sh := shapes(stats)
	p.mu.Lock()
	defer p.mu.Unlock()
	var first, last int64
	for _, dev := range stats.DevStats {
		for _, ns := range dev.NodeStats {
			start, end := nanos(ns.AllStartNanos, ns.AllStartMicros), nanos(ns.AllStartNanos+ns.OpEndRelNanos, ns.AllStartMicros+ns.OpEndRelMicros)
			if e := nanos(ns.AllStartNanos+ns.AllEndRelNanos, ns.AllStartMicros+ns.AllEndRelMicros); e > end {
				end = e
			}
			if first == 0 || start < first {
				first = start
			}
			last = max(last, end)
			if ns.NodeName == "_SOURCE" {
				continue
			}
			n := p.nodes[ns.NodeName]
			if n == nil {
				def := defs[ns.NodeName]
				n = &Node{Name: ns.NodeName, Op: opType(def, ns.TimelineLabel)}
				n.FLOPs = FLOPs(def, n.Op, sh)
				p.nodes[ns.NodeName] = n
			}
			n.Calls++
			n.Time += time.Duration(nanos(ns.OpEndRelNanos, ns.OpEndRelMicros))
		}
	}
	p.traced++
	p.run += run
	p.span += time.Duration(last - first)
	return nil
}

// nanos returns ns, or us in nanoseconds when ns is 0 (a trace without
// nanoseconds).
func nanos(ns, us int64) int64 {
	if ns != 0 {
		return ns
	}
	return us * 1000
}

// opType returns the op of def, else the one the timeline label names
// ("name = Op(inputs)").
func opType(def *npb.NodeDef, label string) string {
	if def != nil {
		return def.Op
	}
	_, rhs, ok := strings.Cut(label, " = ")
	if !ok {
		return "?"
	}
	op, _, _ := strings.Cut(rhs, "(")
	return op
}

// phaseKey is the context key of WithPhase.
type phaseKey struct{}

// WithPhase returns ctx carrying p, for code that runs steps under a
// context and has no other place for a profile (as httptrace hands its
// hooks to HTTP requests).
func WithPhase(ctx context.Context, p *Phase) context.Context {
	return context.WithValue(ctx, phaseKey{}, p)
}

// PhaseOf returns the phase ctx carries (see WithPhase), or nil.
func PhaseOf(ctx context.Context) *Phase {
	p, _ := ctx.Value(phaseKey{}).(*Phase)
	return p
}
