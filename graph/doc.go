// Package graph builds a config.Network into a TensorFlow graph.
//
// Build adds to a scope, through tfgo and the op wrappers, the forward pass
// of a flat network (config.Network after Config.Resolve): an Images
// placeholder [-1 H W C] (NHWC float32), a Training switch (bool, default
// false), and Logits [-1 K] and Probabilities = softmax(Logits). Variables are
// resource variables (a VarHandleOp node named by the variable name, such
// as "conv2d/kernel", which is also its shared_name), each with an Init op that assigns a seeded initial
// value drawn with stateless random ops, so a seed fixes the initial
// weights. Keras defaults apply: Glorot-uniform kernels, zero biases, ones
// and zeros for batch normalisation.
//
// Training switches dropout (keep with probability 1-rate, scale by
// 1/(1-rate); its random mask does not depend on the weights, so it is off
// the gradient path, and it is drawn only in training: its ops sit in the
// training branch of a switch on Training; with Options.DrawAhead each
// training step also draws the next step's mask, beside its other ops, so
// the ops after the dropout do not wait for a draw) and batch normalisation (batch
// statistics, and moving statistics updated by Model.Updates, in training;
// moving statistics in inference). Options.Serving builds dropout and the random augmentation
// layers as identities, without their step counters, for graphs that only ever infer (SavedModel exports). A
// layer marked Frozen gives non-trainable variables; a frozen
// batchnorm always runs in inference mode (as in Keras), while a frozen
// dropout still drops in training mode.
//
// The preprocessing layers (preprocessing.go) run in training and
// inference: rescaling (x*scale + offset) and normalization ((x-mean) /
// max(sqrt(variance), 1e-7), its statistics non-trainable variables whose
// initial values come from the config). The augmentation layers
// (random_flip, random_translation, random_brightness, random_contrast)
// draw per image in training, like dropout from a stateless op seeded by
// (Options.Seed, layer name, step counter), and select their input
// unchanged in inference mode. Their draws take the batch size from Images,
// so they are off the gradient path too; random_translation's transform
// has no gradient, so config requires it before every layer with weights.
//
// Options.Sharded builds a model that computes one shard of a larger
// batch (package cluster): its random draws are the whole batch's at the
// shard's rows, given by the Model.Offset input.
//
// Weights are the values of a model's variables by Variable.Name: Check
// tells whether they fit a model's variables (names, types, shapes, finite
// values) and Of selects those of some layers by Variable.Layer.
//
// Each layer type has one op builder (layers.go); its weights (names,
// shapes, initializers, trainable or not) come from config's table of layer
// types, the builder only wires them into ops.
//
// graph only builds ops: it opens no files and runs no sessions. The ops on
// the gradient path all have C++ gradients, so op.Gradients of a loss on Logits with
// respect to the Read outputs of TrainableVariables works. Gradients gives
// the same gradients faster: below the conv2d layers with few input
// channels (Model.InputGrads, gradients.go) it computes the input gradient
// as a forward convolution that packs two columns into the channels, and
// training graphs run conv2d layers with few filters as packed
// convolutions too (conv.go), with the same outputs bit for bit.
// ReluGradsReadOutputs then points each ReluGrad at its Relu's output
// rather than its input, the same values, so that TensorFlow fuses the
// Relus into the convolutions of training steps as it does at inference.
package graph
