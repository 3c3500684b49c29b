package cluster

import (
	"bytes"
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/session"
	"github.com/tfcifar/tfcifar/train"
)

// Split trains a model in-graph across the cluster's workers: it
// implements train.Split.
type Split struct {
	ch  *Chief
	net config.Network
	opt graph.Options
	g   *tf.Graph
	m   *graph.Model
}

// Split returns the train.Split of model m, built from net with opt in
// the chief's graph g. A batchnorm layer that trains is refused: each
// worker would normalise its shard by the shard's own statistics, which
// single-process training does not.
func (ch *Chief) Split(net config.Network, opt graph.Options, g *tf.Graph, m *graph.Model) (*Split, error) {
	for _, l := range net.Layers {
		if l.Type == config.BatchNormalization && !l.Frozen {
			return nil, fmt.Errorf("cluster: layer %s: a batchnorm that trains normalises by its batch's statistics, which a distributed run splits across workers; freeze it (trainable: false) or train on one machine", l.Name)
		}
	}
	opt.Sharded, opt.Serving = true, false
	return &Split{ch: ch, net: net, opt: opt, g: g, m: m}, nil
}

// replica is the forward and backward pass of one shard, built once in a
// graph of its own and imported into the training graph once per worker.
type replica struct {
	def        []byte
	images     string // the names of its inputs, mapped on import
	training   string
	offset     string
	labels     string
	weight     string            // float32 scalar: 1, or 0 for an empty shard
	reads      map[string]string // variable name -> its Read op's name
	loss, hits tf.Output         // sums over the shard
	grads      []tf.Output       // of loss, by the order of vars
}

// buildReplica builds the replica graph of sp's network: the loss summed
// over the shard, the hits summed, the gradients of the summed loss with
// respect to the Read outputs of the variables named in vars.
func (sp *Split) buildReplica(vars []*graph.Variable) (*replica, error) {
	g := tf.NewGraph()
	s := op.NewScopeWithGraph(g)
	m, err := graph.Build(s, sp.net, sp.opt)
	if err != nil {
		return nil, err
	}
	k := m.Logits.Shape().Size(1)
	ls := s.SubScope("shard")
	labels := op.Placeholder(ls.SubScope("labels"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, k)))
	weight := op.Placeholder(ls.SubScope("weight"), tf.Float, op.PlaceholderShape(tf.ScalarShape()))
	xent, hit := train.Losses(ls, m.Logits, labels)
	zero := op.Const(ls.SubScope("axis"), int32(0))
	r := &replica{
		images: m.Images.Op.Name(), training: m.Training.Op.Name(), offset: m.Offset.Op.Name(), labels: labels.Op.Name(),
		weight: weight.Op.Name(),
		loss:   op.Mul(ls.SubScope("loss"), op.Sum(ls.SubScope("loss"), xent, zero), weight),
		hits:   op.Mul(ls.SubScope("hits"), op.Sum(ls.SubScope("hits"), hit, zero), weight),
		reads:  map[string]string{},
	}
	byName := map[string]*graph.Variable{}
	for _, v := range m.Variables {
		byName[v.Name] = v
		r.reads[v.Name] = v.Read.Op.Name()
	}
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		rv, ok := byName[v.Name]
		if !ok {
			return nil, fmt.Errorf("cluster: the network has no variable %s", v.Name)
		}
		reads[i] = rv.Read
	}
	r.grads = graph.Gradients(ls, m, r.loss, reads)
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("cluster: shard graph: %w", err)
	}
	for i, gr := range r.grads {
		if gr.Op == nil {
			return nil, fmt.Errorf("cluster: variable %s is trainable but the loss does not depend on it", vars[i].Name)
		}
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("cluster: shard graph: %w", err)
	}
	r.def = buf.Bytes()
	return r, nil
}

// Gradients implements train.Split: the batch fed to the model's Images
// and to labels is cut into one shard per worker (shard i: examples
// n*i/W to n*(i+1)/W of n), each worker computes the loss and gradients of
// its shard, summed over its examples, and the chief adds them up and
// divides by n: the batch means single-process training computes, up to
// the order of the sums.
func (sp *Split) Gradients(s *op.Scope, labels tf.Output, vars []*graph.Variable) (tf.Output, []tf.Output, []*tf.Operation, error) {
	r, err := sp.buildReplica(vars)
	if err != nil {
		return tf.Output{}, nil, nil, err
	}
	g, m := sp.g, sp.m
	reads := map[string]tf.Output{}
	for _, v := range m.Variables {
		reads[v.Name] = v.Read
	}
	bs := s.SubScope("batch")
	n := op.Squeeze(bs, op.Slice(bs, op.Shape(bs, m.Images, op.ShapeOutType(tf.Int64)), op.Const(bs.SubScope("begin"), []int64{0}), op.Const(bs.SubScope("size"), []int64{1})))
	w := int64(len(sp.ch.workers))
	bound := func(i int64) tf.Output { // n*i/w
		bs := s.SubScope("bound")
		return op.FloorDiv(bs, op.Mul(bs, n, op.Const(bs.SubScope("i"), i)), op.Const(bs.SubScope("w"), w))
	}
	var losses, hits []tf.Output
	grads := make([][]tf.Output, len(vars))
	for i, wk := range sp.ch.workers {
		ss := s.SubScope(fmt.Sprintf("shard_%d", i))
		begin, size, weight := shard(ss, n, bound(int64(i)), bound(int64(i)+1))
		images := cut(ss.SubScope("images"), m.Images, begin, size, 4)
		lab := cut(ss.SubScope("labels"), labels, begin, size, 2)
		if err := ss.Err(); err != nil {
			return tf.Output{}, nil, nil, fmt.Errorf("cluster: shards: %w", err)
		}
		name := freeName(g, fmt.Sprintf("worker_%d", i))
		io := tf.GraphImportOptions{Prefix: name, Device: wk.Device()}
		io.AddInputMapping(r.images, 0, images)
		io.AddInputMapping(r.labels, 0, lab)
		io.AddInputMapping(r.training, 0, m.Training)
		io.AddInputMapping(r.offset, 0, begin)
		io.AddInputMapping(r.weight, 0, weight)
		for v, op := range r.reads {
			out, ok := reads[v]
			if !ok {
				return tf.Output{}, nil, nil, fmt.Errorf("cluster: the chief's model has no variable %s", v)
			}
			io.AddInputMapping(op, 0, out)
		}
		if err := g.ImportWithOptions(r.def, io); err != nil {
			return tf.Output{}, nil, nil, fmt.Errorf("cluster: import the shard of worker %s: %w", wk, err)
		}
		get := func(o tf.Output) tf.Output { return g.Operation(name + "/" + o.Op.Name()).Output(o.Index) }
		losses, hits = append(losses, get(r.loss)), append(hits, get(r.hits))
		for j, gr := range r.grads {
			grads[j] = append(grads[j], get(gr))
		}
	}
	ms := s.SubScope("mean")
	count := op.Cast(ms, n, tf.Float)
	mean := func(name string, xs []tf.Output) tf.Output {
		s := ms.SubScope(name)
		return op.Div(s, op.AddN(s, xs), count)
	}
	metrics := op.Pack(s.SubScope("metrics"), []tf.Output{mean("loss", losses), mean("accuracy", hits)})
	out := make([]tf.Output, len(vars))
	for j := range vars {
		out[j] = mean("gradient", grads[j])
	}
	if err := s.Err(); err != nil {
		return tf.Output{}, nil, nil, fmt.Errorf("cluster: averages: %w", err)
	}
	return metrics, out, m.Updates, nil
}

// shard returns the first row and the size of the shard [begin, end) of
// a batch of n, and its weight, 1. An empty shard (a batch smaller than
// the workers' count) becomes the batch's last row with weight 0, which
// zeroes its loss, hits and gradients: TensorFlow's convolution gradients
// fail on empty batches.
func shard(s *op.Scope, n, begin, end tf.Output) (first, size, weight tf.Output) {
	one := op.Const(s.SubScope("one"), int64(1))
	size = op.Sub(s, end, begin)
	empty := op.Equal(s, size, op.Const(s.SubScope("zero"), int64(0)))
	first = op.Minimum(s, begin, op.Sub(s.SubScope("last"), n, one))
	size = op.Maximum(s, size, one)
	weight = op.Select(s.SubScope("weight"), empty, op.Const(s.SubScope("none"), float32(0)), op.Const(s.SubScope("all"), float32(1)))
	return first, size, weight
}

// cut returns rows [begin, begin+size) of x, a tensor of rank dims.
func cut(s *op.Scope, x, begin, size tf.Output, dims int) tf.Output {
	rest := make([]int64, dims-1)
	all := make([]int64, dims-1)
	for i := range all {
		all[i] = -1
	}
	one := op.Const(s.SubScope("one"), []int64{1})
	b := op.ConcatV2(s.SubScope("begin"), []tf.Output{op.Reshape(s, begin, one), op.Const(s.SubScope("zeros"), rest)}, op.Const(s.SubScope("axis"), int32(0)))
	z := op.ConcatV2(s.SubScope("size"), []tf.Output{op.Reshape(s.SubScope("n"), size, one), op.Const(s.SubScope("all"), all)}, op.Const(s.SubScope("axis2"), int32(0)))
	return op.Slice(s, x, b, z)
}

// freeName returns base, or base_1, ...: a name no operation of g has or
// is scoped under.
func freeName(g *tf.Graph, base string) string {
	name := base
	for i := 1; g.Operation(name) != nil || g.Operation(name+"/"+"images") != nil; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// Open implements train.Split: a session on the chief's server, with r's
// settings (precision) and every step bounded by three quarters of
// cluster.timeout (the last quarter names the worker that failed it).
func (sp *Split) Open(g *tf.Graph, r config.Run) (*tf.Session, error) {
	r.Device = config.CPU
	c, _, err := session.Config(r)
	if err != nil {
		return nil, err
	}
	// Thread counts are the servers' (their ServerDef's default session
	// config): a distributed session has no pools of its own.
	c.DeviceCount, c.UsePerSessionThreads = nil, false
	c.IntraOpParallelismThreads, c.InterOpParallelismThreads = 0, 0
	c.OperationTimeoutInMs = stepTimeout(sp.ch.c.Timeout).Milliseconds()
	c.DeviceFilters = filters(append([]config.Task{sp.ch.task}, sp.ch.workers...))
	// The stage's variables are its session's own: the chief's server
	// outlives the stage, and the next stage has variables of the same
	// names.
	c.IsolateSessionState = true
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("cluster: session config: %w", err)
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: sp.ch.target, Config: b})
	if err != nil {
		return nil, fmt.Errorf("cluster: open session on %s: %w", sp.ch.target, err)
	}
	return sess, nil
}

// Close implements train.Split: it closes sess within cluster.timeout,
// or leaves it to the process's exit once a worker failed (TensorFlow's
// close would wait for that worker without a deadline).
func (sp *Split) Close(sess *tf.Session) error { return sp.ch.closeSession(sess) }

var _ train.Split = (*Split)(nil)
