package train

import (
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/profile"
)

// Options are the settings of a Trainer that do not come from the train
// section of the configuration. The zero value trains quietly, writes
// nothing and starts from the seeded initial values. What is printed or
// written besides checkpoints is up to the hooks given to Fit.
//
//   - Run gives the seed (used when the train seed is 0) and the thread
//     counts and device of the session.
//   - Dir is the directory where Fit writes checkpoint/ ("": no
//     checkpoints).
//   - Resume continues from Dir/checkpoint when there is one.
//   - Init holds initial values by Variable.Name (e.g. reused layers); they
//     replace the seeded initial values; a checkpoint, when resuming,
//     replaces both.
//   - Clock gives the time for the seconds of epochs and of the history
//     (nil: time.Now).
//   - Spent is time spent on the model before Fit (e.g. computing cached
//     features); it counts in the history's and the printed time taken.
//   - LayerRates gives layers (by name) their own learning rate instead of
//     the optimizer's, e.g. fine-tuned reused layers; schedules scale it
//     as they scale the optimizer's rate.
//   - Cached holds, by Variable.Name, the values of the variables of
//     layers whose outputs were computed ahead (package transfer) and are
//     not part of the model: checkpoints keep them, so that they hold the
//     whole network whether or not its frozen layers are cached, and a
//     resume checks them.
//   - Identity describes what is trained for its checkpoints.
//   - Split, when set, computes the loss, accuracy and gradients of every
//     training step in shards on other devices (package cluster: one
//     shard per worker of a cluster) and opens the session.
//   - Profile, when not nil, traces some training steps ("training
//     step") and validation batches ("validation batch") as its phases
//     (see package internal/profile); the traced steps compute what the
//     others do.
//
// Pixel scales belong to the Dataset, and how to resume an interrupted
// run to the caller (see Interrupted).
type Options struct {
	Run        config.Run
	Dir        string
	Resume     bool
	Init       graph.Weights
	Clock      func() time.Time
	Spent      time.Duration
	LayerRates map[string]float64
	Cached     graph.Weights
	Identity   Identity
	Split      Split
	Profile    *profile.Recorder

	lossScaling *lossScaling // nil: Keras' defaults (tests set others)
}

// Split computes training steps across devices; package cluster
// implements it with one shard of every batch per worker of a cluster.
type Split interface {
	// Gradients adds to s, for the batch fed to the model's Images and to
	// labels, the batch's mean loss and accuracy (float32 [2]) and the
	// gradients of the mean loss with respect to the Read outputs of vars,
	// and returns them with the ops that run with every training step in
	// place of Model.Updates.
	Gradients(s *op.Scope, labels tf.Output, vars []*graph.Variable) (metrics tf.Output, grads []tf.Output, updates []*tf.Operation, err error)
	// Open opens the session that runs g.
	Open(g *tf.Graph, r config.Run) (*tf.Session, error)
	// Close closes a session Open opened.
	Close(sess *tf.Session) error
}
