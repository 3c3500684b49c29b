// Package profile traces TensorFlow steps and tells where their time goes.
//
// A Recorder traces a few calls of each phase of a run (a stage's
// training step, its validation batches) after some warm-up calls, with
// TensorFlow's full trace (RunOptions trace_level FULL_TRACE): the start
// and end of every node the executor ran and the graphs it ran, after
// grappler's and oneDNN's rewrites, so that nodes carry the op types that
// really ran (_MklNativeConv2D, _MklNativeFusedMatMul, ...). Write prints,
// per phase, the time per step by op type and by node, with the share of
// the summed op time, and for convolutions and matrix products (any of
// their fused or oneDNN forms) the floating-point operations per step
// (from the shapes the trace records) and the rate achieved, next to the
// matrix product rate that Peak measures with the same session settings.
//
// Run is the traced Session.Run. The Go bindings pass no RunOptions, so
// Run, the one function of the package that uses cgo, calls TF_SessionRun
// itself with the C handles of the bindings' values.
package profile
