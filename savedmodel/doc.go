// Package savedmodel writes and reads TensorFlow SavedModel directories,
// without Python.
//
// Export writes a built model (Built: a graph.Model alone in its graph, the
// network spec it was built from and its graph.Weights) as a TF1-style
// SavedModel that TensorFlow's loaders (the Go and C++ LoadSavedModel,
// TensorFlow Python's tf.saved_model.load, saved_model_cli, TF Serving)
// accept; ExportNetwork first builds the serving graph from a
// config.Network. The variables are written by a checkpoint.Saver:
//
//	saved_model.pb                         SavedModel, schema version 1
//	fingerprint.pb                         FingerprintDef (fingerprint.go)
//	variables/variables.index              checkpoint written by the save op
//	variables/variables.data-00000-of-00001
//	assets/classes.txt                     class names, one a line, in output order
//	assets/network.yaml                    the network spec (config.Network.YAML)
//	assets/scale.txt                       the training pixel scale (data.scale)
//
// saved_model.pb holds one MetaGraphDef tagged "serve": the inference graph
// built by graph.Build (ExportNetwork builds it with graph.Options.Serving:
// dropout layers are identities, so the export holds weights only and no
// dropout step counter) plus a class_ids ArgMax and the saver ops; a SaverDef
// (V2) naming the filename tensor, save tensor and restore op; the
// "variables" and "trainable_variables" collections of VariableDef protos
// (TensorFlow Python lifts resource variables from them: tf.saved_model.load
// shows them by their names, conv2d/kernel:0, since each VarHandleOp node
// is named after its variable, and the loaded object's
// graph.get_collection("trainable_variables") lists the weights of the
// layers that are not frozen; exports written before the nodes had those
// names, <name>/VarHandleOp, load and read as well, their checkpoint keys
// being the same); the asset files;
// the op definitions the graph uses (stripped_op_list); and the
// "serving_default" signature (method tensorflow/serving/predict) from
// "images" (float32 [-1,32,32,3], raw 0-255 pixels, which the graph
// multiplies by the training scale) to
// "probabilities" (float32 [-1,classes]) and "class_ids" (int64 [-1]).
//
// fingerprint.pb holds the FingerprintDef TensorFlow 2.21 computes for
// the same directory (producer 4): FarmHash Fingerprint64 hashes of
// saved_model.pb re-serialized deterministically, of its graph regularized
// as TensorFlow's SimpleDelete does, of its signatures in key order and of
// variables/variables.index, a zero object graph hash, and a random uuid.
// Deterministic serialization follows C++ protobuf's: Go's deterministic
// Marshal writes oneof members after the other fields, so the fields are
// put back in number order before hashing.
//
// Export replaces only an earlier tfcifar export or an empty directory
// (CheckTarget), by an atomic exchange where the filesystem allows;
// RemoveLeftovers cleans what an export killed midway left next to it.
//
// Load loads an export for prediction; ReadVariables reads its assets and
// variable values back (Variables), to reuse layers in another network;
// ReadMeta reads only the assets. Sessions follow LoadOptions.Run and
// Options.Run (internal/session). Every file is read with a size limit, and before anything
// runs, Load and ReadVariables check the graph of saved_model.pb against an
// allow-list of the ops inference needs (allowlist.go) and bounded sizes,
// since TensorFlow's loader runs a model's restore and init ops:
// LoadOptions.Trust skips that check for models from a trusted source.
package savedmodel
