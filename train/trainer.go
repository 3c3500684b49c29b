package train

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/profile"
	"github.com/tfcifar/tfcifar/internal/session"
)

// Trainer trains one model in its own session. It is not safe for
// concurrent use.
type Trainer struct {
	m     *graph.Model
	cfg   config.Train
	opt   Options
	seed  int64
	k     int   // classes: columns of the logits and one-hot labels
	pixel int64 // values of one image, H*W*C
	imgs  []int64

	sess  *tf.Session
	saver *checkpoint.Saver
	// keptSaver saves and restores the model's variables as the best
	// epoch's weights (nil when no callback keeps them); scratch holds
	// them when no checkpoint does.
	keptSaver *checkpoint.Saver
	scratch   string
	keptNow   bool      // the session holds the weights just kept, not yet in a checkpoint
	labels    tf.Output // float32 [-1, k] one-hot labels
	lr        tf.Output // float32 scalar learning rate
	metrics   tf.Output // float32 [2]: mean loss and accuracy of the batch
	steps     tf.Output // int64 scalar: training steps taken
	epochIn   tf.Output // int64 scalar fed to setEpoch
	setEp     *tf.Operation
	targets   []*tf.Operation // optimizer updates, step increment, model updates
	fetch     []tf.Output     // {metrics}
	// trainFetch is fetched by training steps: fetch, or the metrics of
	// Options.Split; updates run with them: Model.Updates, or Split's.
	trainFetch []tf.Output
	updates    []*tf.Operation
	scaler     *lossScaler // dynamic loss scaling (mixed_float16), else nil
	finite     tf.Output   // bool [len(floats)]: whether each variable is finite
	floats     []string    // names of the float32 variables finite checks
	cached     []cachedVar // variables holding Options.Cached

	// Reused feeds: one map per mode, tensors refilled in place.
	trainFeeds, evalFeeds map[tf.Output]*tf.Tensor
	inputs                map[[2]int]*batchInput // by validation lane and batch size
	lrBuf                 *buffer
	pair                  [2]float32
	// Phases of Options.Profile (nil: none) that run the training steps
	// and the evaluation batches.
	stepRun, evalRun *profile.Phase

	st state // progress of training, saved with checkpoints
}

// cachedVar is a variable that holds a value of Options.Cached.
type cachedVar struct {
	name string
	in   tf.Output // placeholder fed with the value at initialisation
	init *tf.Operation
	read tf.Output
}

// batchInput holds the image and label tensors of batches of n.
type batchInput struct {
	images, labels *buffer
	n              int
}

// New adds to g, the graph m was built in, around the model m, the loss
// (mean SoftmaxCrossEntropyWithLogits of the logits and one-hot labels),
// the accuracy, gradients of the loss with respect to the Read outputs of
// the trainable variables, the optimizer of cfg, step and epoch counters
// and a checkpoint saver, all under a name scope of their own beginning
// with "train" (a free one: "train", else "train_1", ...). It then opens a
// session on g configured from opt.Run, initialises all variables, assigns
// opt.Init and, when opt.Resume is set and opt.Dir holds a checkpoint,
// restores it. The scope m was built with stays the caller's: New neither
// uses nor finalizes it, and the caller may add ops to g afterwards in
// other name scopes. The caller must Close the Trainer.
func New(g *tf.Graph, m *graph.Model, cfg config.Train, opt Options) (t *Trainer, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("train: build: %v", r)
		}
	}()
	if g == nil || m == nil {
		return nil, errors.New("train: New needs a graph and a model")
	}
	if t, err = newTrainer(m, cfg, opt); err != nil {
		return nil, err
	}
	s := op.NewScopeWithGraph(g).SubScope(freeName(g, "train"))
	b, err := t.build(s)
	if err != nil {
		return nil, err
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("train: build graph: %w", err)
	}
	if _, err := graph.ReluGradsReadOutputs(g); err != nil {
		return nil, err
	}
	if err := t.open(g, b); err != nil {
		_ = t.Close() // the open error is the one to report
		return nil, err
	}
	return t, nil
}

// newTrainer checks cfg and opt, fills in opt's defaults and m's sizes.
func newTrainer(m *graph.Model, cfg config.Train, opt Options) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	t := &Trainer{m: m, cfg: cfg, opt: opt, seed: cfg.Seed}
	t.stepRun, t.evalRun = opt.Profile.Phase("training step"), opt.Profile.Phase("validation batch")
	t.st.Callbacks.RateFactor = 1
	if t.seed == 0 {
		t.seed = opt.Run.Seed
	}
	var err error
	if t.st.Meaning, err = t.meaning(); err != nil {
		return nil, err
	}
	if err := t.shapes(); err != nil {
		return nil, err
	}
	return t, nil
}

// freeName returns base, or base_1, base_2, ... : the first name that no
// operation of g has or is scoped under.
func freeName(g *tf.Graph, base string) string {
	used := map[string]bool{}
	for _, o := range g.Operations() {
		first, _, _ := strings.Cut(o.Name(), "/")
		used[first] = true
	}
	name := base
	for i := 1; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// shapes checks the model's inputs and outputs and records their sizes.
func (t *Trainer) shapes() error {
	m := t.m
	if m.Images.Op == nil || m.Logits.Op == nil || m.Training.Op == nil || m.Probabilities.Op == nil {
		return errors.New("train: model needs Images, Training, Logits and Probabilities")
	}
	ls := m.Logits.Shape()
	if ls.NumDimensions() != 2 || ls.Size(1) < 1 {
		return fmt.Errorf("train: logits %s: want shape [batch, classes] with known classes", ls)
	}
	t.k = int(ls.Size(1))
	is := m.Images.Shape()
	if is.NumDimensions() < 2 {
		return fmt.Errorf("train: images %s: want shape [batch, ...] with known sizes", is)
	}
	t.pixel = 1
	for i := 1; i < is.NumDimensions(); i++ {
		if is.Size(i) < 1 {
			return fmt.Errorf("train: images %s: want known sizes after the batch dimension", is)
		}
		t.pixel *= is.Size(i)
		t.imgs = append(t.imgs, is.Size(i))
	}
	return nil
}

// built holds the ops that New runs once after opening the session.
type built struct {
	inits  []*tf.Operation
	assign *session.Assign // writes Options.Init
}

// build adds the training ops to the graph under s.
func (t *Trainer) build(s *op.Scope) (built, error) {
	var b built
	loss := t.metricOps(s)
	vars, reads, entries, err := t.modelVariables(&b)
	if err != nil {
		return b, err
	}
	steps := t.counterOps(s, &b, &entries)
	var apply []*tf.Operation
	if len(vars) > 0 {
		if apply, err = t.optimizerOps(s, &b, &entries, loss, vars, reads); err != nil {
			return b, err
		}
	}
	is := s.SubScope("increment")
	inc := op.AssignAddVariableOp(is.WithControlDependencies(apply...), steps, op.Const(is, int64(1)))
	t.targets = append([]*tf.Operation{inc}, t.updates...)
	if t.scaler != nil {
		t.targets = append(t.targets, t.scaler.inc)
	}
	if err := t.cachedOps(s.SubScope("cached"), &entries); err != nil {
		return b, err
	}
	t.finite, t.floats = finiteFlags(s.SubScope("finite"), entries)
	if b.assign, err = session.NewAssign(s.SubScope("init"), t.m.Variables, t.opt.Init); err != nil {
		return b, fmt.Errorf("train: initial %w", err)
	}
	if t.saver, err = checkpoint.NewSaver(s, entries); err != nil {
		return b, fmt.Errorf("train: checkpoint saver: %w", err)
	}
	if keepsBest(t.cfg.Callbacks) {
		if t.keptSaver, err = checkpoint.NewSaver(s.SubScope("kept"), checkpoint.Entries(t.m.Variables)); err != nil {
			return b, fmt.Errorf("train: best weights saver: %w", err)
		}
	}
	return b, nil
}

// metricOps adds the labels and learning-rate inputs, the loss and the
// accuracy, and returns the loss.
func (t *Trainer) metricOps(s *op.Scope) tf.Output {
	m := t.m
	t.labels = op.Placeholder(s.SubScope("labels"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(t.k))))
	t.lr = op.Placeholder(s.SubScope("learning_rate"), tf.Float, op.PlaceholderShape(tf.ScalarShape()))
	xent, hit := Losses(s, m.Logits, t.labels)
	ls := s.SubScope("loss")
	loss := op.Mean(ls, xent, op.Const(ls, int32(0)))
	as := s.SubScope("accuracy_mean")
	acc := op.Mean(as, hit, op.Const(as, int32(0)))
	t.metrics = op.Pack(s.SubScope("metrics"), []tf.Output{loss, acc})
	t.fetch = []tf.Output{t.metrics}
	t.trainFetch, t.updates = t.fetch, m.Updates
	return loss
}

// Losses adds, for logits [batch, classes] and one-hot labels of the same
// shape, the cross-entropy of each example
// (SoftmaxCrossEntropyWithLogits) and whether it is classified right (1
// or 0), both float32 [batch]: their batch means are the loss and accuracy
// a step reports.
func Losses(s *op.Scope, logits, labels tf.Output) (xent, hit tf.Output) {
	xent, _ = op.SoftmaxCrossEntropyWithLogits(s, logits, labels)
	as := s.SubScope("accuracy")
	argmax := func(name string, x tf.Output) tf.Output {
		s := as.SubScope(name)
		return op.ArgMax(s, x, op.Const(s, int32(1)))
	}
	hit = op.Cast(as, op.Equal(as, argmax("predicted", logits), argmax("expected", labels)), tf.Float)
	return xent, hit
}

// modelVariables collects the model's initialisers and checkpoint entries
// into b, and returns the trainable variables with their Read outputs.
func (t *Trainer) modelVariables(b *built) (vars []*graph.Variable, reads []tf.Output, entries []checkpoint.Entry, err error) {
	entries = make([]checkpoint.Entry, 0, 2*len(t.m.Variables)+len(t.opt.Cached)+2)
	for _, v := range t.m.Variables {
		if v.Init != nil {
			b.inits = append(b.inits, v.Init)
		}
		entries = append(entries, checkpoint.Entry{Name: v.Name, Handle: v.Handle, DType: v.Read.DataType(), Shape: v.Shape})
		if _, ok := t.opt.Cached[v.Name]; ok {
			return nil, nil, nil, fmt.Errorf("train: cached value for %s: the model has that variable", v.Name)
		}
		if !v.Trainable {
			continue
		}
		if v.Read.DataType() != tf.Float {
			return nil, nil, nil, fmt.Errorf("train: variable %s: trainable variables must be float32, got %v", v.Name, v.Read.DataType())
		}
		vars, reads = append(vars, v), append(reads, v.Read)
	}
	return vars, reads, entries, nil
}

// counterOps adds the step and epoch counters and returns the step
// counter's handle.
func (t *Trainer) counterOps(s *op.Scope, b *built, entries *[]checkpoint.Entry) tf.Output {
	counter := func(name string) (tf.Output, *tf.Operation) {
		s := s.SubScope(name)
		return variable(s, "train/"+name, tf.Int64, nil, op.Const(s, int64(0)))
	}
	steps, stepsInit := counter("step")
	epoch, epochInit := counter("epoch")
	b.inits = append(b.inits, stepsInit, epochInit)
	*entries = append(*entries,
		checkpoint.Entry{Name: "train/step", Handle: steps, DType: tf.Int64, Shape: []int64{}},
		checkpoint.Entry{Name: "train/epoch", Handle: epoch, DType: tf.Int64, Shape: []int64{}})
	t.steps = op.ReadVariableOp(s.SubScope("steps"), steps, tf.Int64)
	es := s.SubScope("set_epoch")
	t.epochIn = op.Placeholder(es, tf.Int64, op.PlaceholderShape(tf.ScalarShape()))
	t.setEp = op.AssignVariableOp(es, epoch, t.epochIn)
	return steps
}

// optimizerOps adds the gradients of loss and the optimizer's updates of
// vars, recording its slots in b and entries, and returns the updates.
// With mixed_float16 it adds dynamic loss scaling (see lossScaler): the
// updates run only when the scaled gradients are finite, and it returns
// the loss scale's update instead, which runs on every step.
func (t *Trainer) optimizerOps(s *op.Scope, b *built, entries *[]checkpoint.Entry, loss tf.Output, vars []*graph.Variable, reads []tf.Output) ([]*tf.Operation, error) {
	target, step, lss := loss, t.steps, s
	if t.opt.Run.Precision == config.MixedFloat16 {
		lss = s.SubScope("loss_scale")
		set := kerasLossScaling
		if t.opt.lossScaling != nil {
			set = *t.opt.lossScaling
		}
		t.scaler = lossScaleOps(lss, set, b, entries)
		target, step = t.scaler.scaleLoss(lss, loss), t.scaler.step
	}
	grads, err := t.gradients(s, target, vars, reads)
	if err != nil {
		return nil, err
	}
	for i, g := range grads {
		if g.Op == nil {
			return nil, fmt.Errorf("train: variable %s is trainable but the loss does not depend on it", vars[i].Name)
		}
	}
	if t.scaler != nil {
		grads = t.scaler.unscale(lss, grads)
	}
	lrs := rates(s.SubScope("layer_rates"), vars, t.lr, t.cfg.Optimizer.LearningRate, t.opt.LayerRates)
	apply, slots, err := applyOps(s.SubScope("optimizer"), t.cfg.Optimizer, vars, grads, lrs, step)
	if err != nil {
		return nil, err
	}
	for _, sl := range slots {
		b.inits = append(b.inits, sl.Init)
		*entries = append(*entries, checkpoint.Entry{Name: sl.Name, Handle: sl.Handle, DType: tf.Float, Shape: sl.Shape})
	}
	if t.scaler != nil {
		// The step counter advances on skipped steps too.
		t.scaler.advance(lss, apply)
		return []*tf.Operation{t.scaler.update}, nil
	}
	return apply, nil
}

// gradients adds the gradients of loss with respect to reads, the Read
// outputs of vars; with Options.Split, those of its shards instead.
func (t *Trainer) gradients(s *op.Scope, loss tf.Output, vars []*graph.Variable, reads []tf.Output) ([]tf.Output, error) {
	if t.opt.Split == nil {
		grads := graph.Gradients(s, t.m, loss, reads)
		if err := s.Err(); err != nil {
			return nil, fmt.Errorf("train: gradients: %w", err)
		}
		return grads, nil
	}
	if t.scaler != nil {
		return nil, errors.New("train: loss scaling (mixed_float16) does not split across devices")
	}
	metrics, grads, updates, err := t.opt.Split.Gradients(s.SubScope("split"), t.labels, vars)
	if err != nil {
		return nil, fmt.Errorf("train: split: %w", err)
	}
	t.trainFetch, t.updates = []tf.Output{metrics}, updates
	return grads, nil
}

// cachedOps adds a variable for every value of Options.Cached.
func (t *Trainer) cachedOps(cs *op.Scope, entries *[]checkpoint.Entry) error {
	for _, name := range slices.Sorted(maps.Keys(t.opt.Cached)) {
		val := t.opt.Cached[name]
		if val == nil {
			return fmt.Errorf("train: cached value for %s is nil", name)
		}
		vs := cs.SubScope("v")
		in := op.Placeholder(vs, val.DataType(), op.PlaceholderShape(tf.MakeShape(val.Shape()...)))
		h, init := variable(vs, "cached/"+name, val.DataType(), val.Shape(), in)
		t.cached = append(t.cached, cachedVar{name: name, in: in, init: init, read: op.ReadVariableOp(vs, h, val.DataType())})
		*entries = append(*entries, checkpoint.Entry{Name: name, Handle: h, DType: val.DataType(), Shape: val.Shape()})
	}
	return nil
}

// finiteFlags adds a bool vector telling for each float32 entry whether
// all its values are finite, and returns it with the entries' names.
func finiteFlags(s *op.Scope, entries []checkpoint.Entry) (tf.Output, []string) {
	var (
		flags []tf.Output
		names []string
	)
	all := op.Const(s.SubScope("all"), []int32{-1})
	axis := op.Const(s.SubScope("axis"), int32(0))
	for _, e := range entries {
		if e.DType != tf.Float {
			continue
		}
		vs := s.SubScope("v")
		x := op.Reshape(vs, op.ReadVariableOp(vs, e.Handle, tf.Float), all)
		flags = append(flags, op.All(vs, op.IsFinite(vs, x), axis))
		names = append(names, e.Name)
	}
	if len(flags) == 0 {
		return op.Const(s, []bool{}), nil
	}
	return op.Pack(s, flags), names
}

// checkFinite fails naming the first variable (weight, optimizer slot or
// cached value) that holds a NaN or an infinity.
func (t *Trainer) checkFinite() error {
	out, err := t.sess.Run(nil, []tf.Output{t.finite}, nil)
	if err != nil {
		return fmt.Errorf("check variables: %w", err)
	}
	flags, _ := out[0].Value().([]bool)
	for i, ok := range flags {
		if !ok {
			return fmt.Errorf("variable %s holds NaN or infinite values", t.floats[i])
		}
	}
	return nil
}

// checkCached fails when a restored cached variable differs from its
// value in Options.Cached, which the cached features were computed with.
func (t *Trainer) checkCached(dir string) error {
	if len(t.cached) == 0 {
		return nil
	}
	reads := make([]tf.Output, len(t.cached))
	for i, c := range t.cached {
		reads[i] = c.read
	}
	out, err := t.sess.Run(nil, reads, nil)
	if err != nil {
		return fmt.Errorf("train: resume: read cached variables: %w", err)
	}
	for i, c := range t.cached {
		restored, err := fingerprint(map[string]*tf.Tensor{c.name: out[i]})
		if err != nil {
			return fmt.Errorf("train: resume: %w", err)
		}
		source, err := fingerprint(map[string]*tf.Tensor{c.name: t.opt.Cached[c.name]})
		if err != nil {
			return fmt.Errorf("train: resume: %w", err)
		}
		if restored != source {
			return &ResumeRefused{Checkpoint: dir, Field: "reused weights (model.from)", Was: "other values of " + c.name, Now: "the source's"}
		}
	}
	return nil
}

// open creates the session, initialises the variables and the feeds, and
// restores a checkpoint when resuming.
func (t *Trainer) open(g *tf.Graph, b built) error {
	var err error
	if t.opt.Split != nil {
		t.sess, err = t.opt.Split.Open(g, t.opt.Run)
	} else {
		t.sess, err = session.Open(g, t.opt.Run)
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := t.sess.Run(nil, nil, b.inits); err != nil {
		return fmt.Errorf("train: initialise variables: %w", err)
	}
	if len(t.cached) > 0 {
		feeds := make(map[tf.Output]*tf.Tensor, len(t.cached))
		inits := make([]*tf.Operation, len(t.cached))
		for i, c := range t.cached {
			feeds[c.in], inits[i] = t.opt.Cached[c.name], c.init
		}
		if _, err := t.sess.Run(feeds, nil, inits); err != nil {
			return fmt.Errorf("train: assign cached values: %w", err)
		}
	}
	if err := b.assign.Run(t.sess, t.opt.Init); err != nil {
		return fmt.Errorf("train: initial values: %w", err)
	}
	if err := t.feeds(); err != nil {
		return err
	}
	if t.opt.Resume {
		if _, err := t.restore(); err != nil {
			return err
		}
	}
	return nil
}

// feeds prepares the reused feed maps and scalar tensors.
func (t *Trainer) feeds() error {
	var err error
	if t.lrBuf, err = newBuffer(tf.Float); err != nil {
		return err
	}
	yes, err := tf.NewTensor(true)
	if err != nil {
		return err
	}
	no, err := tf.NewTensor(false)
	if err != nil {
		return err
	}
	t.inputs = make(map[[2]int]*batchInput)
	t.trainFeeds = map[tf.Output]*tf.Tensor{t.m.Training: yes, t.lr: t.lrBuf.t}
	t.evalFeeds = map[tf.Output]*tf.Tensor{t.m.Training: no}
	return nil
}

// input returns the reused image and label tensors of validation lane
// lane for batches of n.
func (t *Trainer) input(lane, n int) (*batchInput, error) {
	key := [2]int{lane, n}
	if in, ok := t.inputs[key]; ok {
		return in, nil
	}
	in, err := t.newInput(n)
	if err != nil {
		return nil, err
	}
	t.inputs[key] = in
	return in, nil
}

// newInput allocates image and label tensors for batches of n.
func (t *Trainer) newInput(n int) (*batchInput, error) {
	images, err := newBuffer(tf.Float, append([]int64{int64(n)}, t.imgs...)...)
	if err != nil {
		return nil, err
	}
	labels, err := newBuffer(tf.Float, int64(n), int64(t.k))
	if err != nil {
		return nil, err
	}
	return &batchInput{images: images, labels: labels, n: n}, nil
}

// Values returns the current value of every model variable by
// Variable.Name: snapshots that later training does not change.
func (t *Trainer) Values() (graph.Weights, error) {
	if t.sess == nil {
		return nil, errors.New("train: values: trainer is closed")
	}
	w, err := session.Read(t.sess, t.m.Variables)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return w, nil
}

// Resumed reports whether New restored a checkpoint with training done.
func (t *Trainer) Resumed() bool { return t.st.Step > 0 }

// Close releases the session. The Trainer is unusable afterwards.
func (t *Trainer) Close() error {
	if t.sess == nil {
		return nil
	}
	var err error
	if t.opt.Split != nil {
		err = t.opt.Split.Close(t.sess)
	} else {
		err = t.sess.Close()
	}
	t.sess = nil
	if t.scratch != "" {
		err = errors.Join(err, os.RemoveAll(t.scratch))
		t.scratch = ""
	}
	if err != nil {
		return fmt.Errorf("train: close session: %w", err)
	}
	return nil
}
