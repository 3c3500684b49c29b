// Package savedmodel writes and reads TensorFlow SavedModel directories and
// checkpoints of resource variables, without Python.
//
// Saver saves and restores resource variables in the V2 checkpoint format
// (prefix.index, prefix.data-00000-of-00001) with SaveV2 / RestoreV2 ops;
// training uses it for checkpoints and Export for the variables of an
// export.
//
// Export writes a TF1-style SavedModel that TensorFlow's loaders (the Go
// and C++ LoadSavedModel, TensorFlow Python's tf.saved_model.load,
// saved_model_cli, TF Serving) accept:
//
//	saved_model.pb                         SavedModel, schema version 1
//	variables/variables.index              checkpoint written by the save op
//	variables/variables.data-00000-of-00001
//	assets/classes.txt                     class names, one a line, in output order
//	assets/network.yaml                    the network spec (config.Network.YAML)
//	assets/scale.txt                       the training pixel scale (data.scale)
//
// saved_model.pb holds one MetaGraphDef tagged "serve": the inference graph
// built by graph.Build plus a class_ids ArgMax and the saver ops; a SaverDef
// (V2) naming the filename tensor, save tensor and restore op; the
// "variables" and "trainable_variables" collections of VariableDef protos
// (TensorFlow Python lifts resource variables from them); the asset files;
// the op definitions the graph uses (stripped_op_list); and the
// "serving_default" signature (method tensorflow/serving/predict) from
// "images" (float32 [-1,32,32,3], raw 0-255 pixels, which the graph
// multiplies by the training scale) to
// "probabilities" (float32 [-1,classes]) and "class_ids" (int64 [-1]).
//
// Export replaces only an earlier tfcifar export or an empty directory
// (CheckTarget), by an atomic exchange where the filesystem allows;
// RemoveLeftovers cleans what an export killed midway left next to it.
//
// Load loads an export for prediction; ReadVariables reads its network and
// variable values back, to reuse layers in another network; ReadMeta reads
// only the assets. Every file is read with a size limit, and before anything
// runs, Load and ReadVariables check the graph of saved_model.pb against an
// allow-list of the ops inference needs (allowlist.go) and bounded sizes,
// since TensorFlow's loader runs a model's restore and init ops:
// LoadOptions.Trust skips that check for models from a trusted source.
package savedmodel
