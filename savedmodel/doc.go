// Package savedmodel writes and reads TensorFlow SavedModel directories,
// without Python.
//
// Export writes a built model (Built: a graph.Model alone in its graph, the
// network spec it was built from and its graph.Weights) as a SavedModel
// that TensorFlow's loaders accept: the Go and C++ LoadSavedModel,
// saved_model_cli and TF Serving through its graph and signature, and
// TensorFlow Python's tf.saved_model.load through its object graph, as a
// TensorFlow 2 object. ExportNetwork first builds the serving graph from a
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
// saved_model.pb holds one MetaGraphDef tagged "serve":
//
//   - the inference graph built by graph.Build (ExportNetwork builds it
//     with graph.Options.Serving: dropout layers are identities, so the
//     export holds weights only and no dropout step counter) plus a
//     class_ids ArgMax and the saver ops, each VarHandleOp node named
//     after its variable (conv2d/kernel); a SaverDef (V2) naming the
//     filename tensor, save tensor and restore op; the asset files; the
//     op definitions the graph uses (stripped_op_list); and the
//     "serving_default" signature (method tensorflow/serving/predict) from
//     "images" (float32 [-1,32,32,3], raw 0-255 pixels, which the graph
//     multiplies by the training scale) to "probabilities" (float32
//     [-1,classes]) and "class_ids" (int64 [-1]), tensors of that graph;
//   - in the graph's function library, the same computation as a
//     FunctionDef (function.go: the nodes the two outputs depend on, with
//     the images and the variables' resource handles as its inputs), built
//     from the serving GraphDef;
//   - the object graph (objectgraph.go) tf.saved_model.load rebuilds: a
//     root object whose variables, trainable_variables (the weights of the
//     layers that are not frozen) and non_trainable_variables lists hold
//     the variables (named conv2d/kernel, so TensorFlow Python shows
//     conv2d/kernel:0), and whose signatures map serving_default to the
//     function, called with images=... and bound to the variables.
//
// The checkpoint stores each variable under its TensorFlow 2 key
// (conv2d/kernel/.ATTRIBUTES/VARIABLE_VALUE), which the object graph it
// also holds (_CHECKPOINTABLE_OBJECT_GRAPH) names, as TensorFlow Python
// restores variables only from keys of that form. Exports written before
// (TF1-style: VariableDef collections "variables" and
// "trainable_variables", variables under their names, VarHandleOp nodes
// possibly named <name>/VarHandleOp) load and are read as well.
//
// fingerprint.pb holds the FingerprintDef TensorFlow 2.21 computes for
// the same directory (producer 4): FarmHash Fingerprint64 hashes of
// saved_model.pb re-serialized deterministically, of its graph regularized
// as TensorFlow's SimpleDelete does, of its signatures in key order, of
// its object graph's concrete functions and of variables/variables.index,
// and a random uuid.
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
// since TensorFlow's loader runs a model's restore and init ops. Every
// function of the graph's library is checked too; a function may be
// called (StatefulPartitionedCall, PartitionedCall) only if it is in the
// library, and none may call itself. LoadOptions.Trust skips that check
// for models from a trusted source.
package savedmodel
