// Package checkpoint saves and restores resource variables as TensorFlow
// V2 variable bundles (prefix.index, prefix.data-00000-of-00001), without
// Python.
//
// A Saver, built with NewSaver into a graph before its session opens, adds
// under the "save" name scope a filename tensor, ReadVariableOp→SaveV2
// (the save tensor) and RestoreV2→EnsureShape→AssignVariableOp grouped
// under a NoOp (the restore op); Def names them in a SaverDef, which is
// how TensorFlow's SavedModel loaders find a model's variables. Entries
// makes the saver entries of a graph.Model's variables; Read restores a
// bundle into such variables and returns their values as graph.Weights.
//
// An entry is stored under its name, or under its Key when set: TensorFlow
// 2 stores a variable under ObjectKey(its object path),
// conv2d/kernel/.ATTRIBUTES/VARIABLE_VALUE, and the bundle's object graph
// (a TrackableObjectGraph under ObjectGraphKey), which NewObjectSaver's
// save op writes; ReadKeyed reads such a bundle.
//
// train writes its checkpoints with a Saver, and savedmodel the variables
// of an export: this package sits below both.
package checkpoint
