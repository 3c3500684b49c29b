package savedmodel

// allowed lists the op types a SavedModel's graph may hold (in its graph
// and in every function of its library) for Load and ReadVariables to
// accept it without LoadOptions.Trust: the ops of tfcifar's own exports,
// every layer type, activation and initializer included. Anything else,
// notably file and network I/O (WriteFile, ReadFile, MatchingFiles),
// PyFunc, queues and readers, Print and PrintV2, loops and conditionals
// (While, If) and random ops with state, is refused. Function calls are
// allowed only to a function of the graph's library, itself checked
// (checkGraph).
// Another producer's exports (Keras') need their ops added here, group by
// group, each checked for what it can do when loading runs it.
var allowed = setOf(
	// Constants, inputs and plumbing.
	"Const", "Placeholder", "PlaceholderWithDefault", "Identity", "NoOp",
	"EnsureShape", "Shape", "Reshape", "Slice", "Pack", "ConcatV2", "Cast",
	"Bitcast", "Select", "Fill",
	// Arithmetic and reductions.
	"Add", "Sub", "Mul", "FloorDiv", "GreaterEqual", "Prod", "Mean",
	"ArgMax", "MatMul", "BiasAdd", "RealDiv", "Sqrt", "Maximum", "Minimum",
	"LessEqual", "LogicalAnd",
	// Layers and activations.
	"Conv2D", "MaxPool", "AvgPool", "FusedBatchNormV3", "Relu", "Sigmoid",
	"Tanh", "Softmax", "Pad",
	// Augmentation: flips and translations, whose output has the shape of
	// their input.
	"ReverseV2", "ImageProjectiveTransformV3",
	// Stateless random numbers: initializers, dropout masks and augmentation
	// draws, whose sizes come from constant shapes or from the batch.
	"StatelessRandomUniform", "StatelessTruncatedNormal",
	"StatelessRandomUniformFullInt",
	// The training switch of a training build's dropout: Switch routes a
	// value to one of two outputs and Merge forwards the one that has a
	// value. Without the loop ops (Enter, NextIteration), which stay
	// refused, they can only skip work, never repeat it.
	"Switch", "Merge",
	// Resource variables.
	"VarHandleOp", "ReadVariableOp", "AssignVariableOp",
	"AssignAddVariableOp", "AssignSubVariableOp",
	// Calls of the graph's library functions (checkGraph checks that the
	// function is there and none calls itself).
	"PartitionedCall", "StatefulPartitionedCall",
	// The saver: checkGraph also requires that loading and predicting never
	// run SaveV2 and that RestoreV2 reads only the file the loader feeds.
	opSaveV2, opRestoreV2,
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
