package graph

import (
	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/tfcifar/tfcifar/config"
)

// Variable is one resource variable of a built model.
//
// Name is unique within the model and stable across builds of the same
// spec: "<layer>/<param>", e.g. "conv2d/kernel", "dense_1/bias",
// "batch_normalization/moving_mean". It is the key used in checkpoints,
// SavedModel variables and transfer of weights between models.
type Variable struct {
	Name      string
	Layer     string        // name of the layer that owns the variable
	Shape     []int64       // static shape, e.g. [5 5 3 8] for a conv kernel
	Handle    tf.Output     // VarHandleOp output (DT_RESOURCE)
	Read      tf.Output     // ReadVariableOp output the forward pass uses; gradients are taken w.r.t. it
	Init      *tf.Operation // AssignVariableOp that writes the seeded initial value
	Trainable bool          // false for frozen layers and for batchnorm moving statistics
	// State marks bookkeeping that is not a weight (the float32 step counter
	// that seeds a dropout layer's masks): saved in checkpoints, not counted
	// as a parameter, never trainable.
	State bool
}

// Model is a network built into a TensorFlow graph.
//
// Images is a float32 placeholder of shape [-1, H, W, C] (NHWC, pixels as fed,
// 0-255 by default). Training is a bool PlaceholderWithDefault (false) that
// switches dropout and batch normalisation to training behaviour. Logits has
// shape [-1, classes]; Probabilities is softmax(Logits).
type Model struct {
	Images        tf.Output
	Training      tf.Output
	Offset        tf.Output // int64 scalar input of an Options.Sharded build, else nil
	Logits        tf.Output
	Probabilities tf.Output
	Variables     []*Variable
	// Updates are ops to run with every training step (feeding Training
	// true): batchnorm moving statistics and the step counters that give
	// dropout a new mask each step; empty for networks without either.
	Updates []*tf.Operation
	// LeftOut names the state variables a Serving build leaves out (the
	// step counters of dropout and random layers, "dropout/seed"), which a
	// training build of the
	// same network has.
	LeftOut []string
	Layers  []LayerInfo
	// Outputs are the output of each layer, in the order of Layers.
	Outputs []tf.Output
	// InputGrads are the conv2d layers, in layer order, whose input
	// gradient Gradients computes by a packed forward convolution: those
	// with some trainable variable below them that packs accepts.
	InputGrads []InputGrad
}

// LayerInfo describes one layer for the summary.
type LayerInfo struct {
	Name        string
	Type        config.LayerType
	OutputShape []int64 // without the batch dimension, e.g. [28 28 8]
	Params      int64   // trainable + non-trainable parameters of the layer
	Trainable   bool    // not frozen, and gradients train some of its parameters (if it has any)
}
