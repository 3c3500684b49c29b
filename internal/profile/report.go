package profile

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Row is the time of one op type or node of a phase, per traced step.
type Row struct {
	Name    string        // op type, or node name
	Op      string        // the node's op type ("" for an op type's row)
	Nodes   int           // nodes of the op type (1 for a node)
	PerStep time.Duration // summed op time per step
	Share   float64       // of the phase's summed op time, in [0, 1]
	FLOPs   float64       // per step; 0 when not counted
}

// Rate returns the row's GFLOP/s (0 without FLOPs or time).
func (r Row) Rate() float64 {
	if r.FLOPs == 0 || r.PerStep <= 0 {
		return 0
	}
	return r.FLOPs / r.PerStep.Seconds() / 1e9
}

// Traced returns the number of traced calls of p.
func (p *Phase) Traced() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.traced
}

// Step returns, per traced call, the time Session.Run took, the
// executor's span (first node start to last node end) and the summed time
// of all nodes (more than the span when nodes run in parallel).
func (p *Phase) Step() (run, span, ops time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.traced == 0 {
		return 0, 0, 0
	}
	for _, n := range p.nodes {
		ops += n.Time
	}
	k := time.Duration(p.traced)
	return p.run / k, p.span / k, ops / k
}

// ByNode returns a row per node, slowest first.
func (p *Phase) ByNode() []Row {
	return p.rows(func(n *Node) (string, string) { return n.Name, n.Op })
}

// ByType returns a row per op type, slowest first.
func (p *Phase) ByType() []Row {
	return p.rows(func(n *Node) (string, string) { return n.Op, "" })
}

// rows sums p's nodes by key.
func (p *Phase) rows(key func(*Node) (name, op string)) []Row {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.traced == 0 {
		return nil
	}
	var total time.Duration
	byKey := map[string]*Row{}
	sums := map[string]time.Duration{}
	for _, n := range p.nodes {
		total += n.Time
		name, op := key(n)
		r := byKey[name]
		if r == nil {
			r = &Row{Name: name, Op: op}
			byKey[name] = r
		}
		r.Nodes++
		sums[name] += n.Time
		r.FLOPs += n.FLOPs * float64(n.Calls)
	}
	rows := make([]Row, 0, len(byKey))
	for name, r := range byKey {
		r.PerStep = sums[name] / time.Duration(p.traced)
		r.FLOPs /= float64(p.traced)
		if total > 0 {
			r.Share = float64(sums[name]) / float64(total)
		}
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.PerStep, a.PerStep), cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// TopNodes is how many nodes Write lists per phase.
const TopNodes = 15

// Write prints r's phases: per phase the time per step, a table by op
// type and one of the TopNodes slowest nodes. peak, in GFLOP/s (0:
// unknown), is the rate the FLOP rates are compared with.
func (r *Recorder) Write(w io.Writer, peak float64) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	for _, p := range r.Phases() {
		if p.Traced() == 0 {
			continue
		}
		run, span, ops := p.Step()
		fmt.Fprintf(tw, "\n== %s: %d steps traced after %d\n", p.Name, p.Traced(), p.warmup)
		fmt.Fprintf(tw, "Session.Run %s per step, executor %s, summed op time %s (ops overlap on several threads)\n\n", ms(run), ms(span), ms(ops))
		writeRows(tw, "op type", p.ByType(), false, peak)
		fmt.Fprintln(tw)
		nodes := p.ByNode()
		writeRows(tw, "node", nodes[:min(len(nodes), TopNodes)], true, peak)
	}
	return tw.Flush()
}

// writeRows prints a table of rows.
func writeRows(w io.Writer, what string, rows []Row, nodes bool, peak float64) {
	head := what + "\tshare\tµs/step\tnodes\tGFLOP/step\tGFLOP/s\tof peak\t"
	if nodes {
		head = what + "\top type\tshare\tµs/step\tGFLOP/step\tGFLOP/s\tof peak\t"
	}
	fmt.Fprintln(w, head)
	var total Row
	for _, r := range rows {
		rate, frac, gf := "-", "-", "-"
		if r.FLOPs > 0 {
			gf = fmt.Sprintf("%.4f", r.FLOPs/1e9)
			rate = fmt.Sprintf("%.1f", r.Rate())
			if peak > 0 {
				frac = fmt.Sprintf("%.0f%%", 100*r.Rate()/peak)
			}
		}
		us := fmt.Sprintf("%.1f", float64(r.PerStep)/1e3)
		if nodes {
			fmt.Fprintf(w, "%s\t%s\t%.1f%%\t%s\t%s\t%s\t%s\t\n", r.Name, r.Op, 100*r.Share, us, gf, rate, frac)
		} else {
			fmt.Fprintf(w, "%s\t%.1f%%\t%s\t%d\t%s\t%s\t%s\t\n", r.Name, 100*r.Share, us, r.Nodes, gf, rate, frac)
		}
		total.Share += r.Share
		total.PerStep += r.PerStep
		total.FLOPs += r.FLOPs
		total.Nodes += r.Nodes
	}
	if !nodes {
		fmt.Fprintf(w, "total\t%.1f%%\t%.1f\t%d\t%.4f\t%.1f\t\t\n", 100*total.Share, float64(total.PerStep)/1e3, total.Nodes, total.FLOPs/1e9, total.Rate())
	}
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
