// Package session opens TensorFlow sessions the way tfcifar runs them and
// moves Weights in and out of their variables.
//
// Options turns the run settings (config.Run: device, intra- and inter-op
// threads, precision) into session options; Open opens a session with them
// and, when a GPU is asked for, checks that the session has one. NewAssign
// adds to a graph, before its session opens, the ops that write Weights to
// variables; Assign.Run runs them. Read fetches variables back as Weights.
//
// Every session of tfcifar comes from here (training, cached features,
// export, reading an export's variables), so all honour the same settings.
//
// # Thread pools
//
// TensorFlow reads TF_OVERRIDE_GLOBAL_THREADPOOL once, when the process
// creates its first CPU device. Without it, that first session creates a
// global intra-op pool that all later sessions share, whatever thread count
// they ask for, and results then depend on which session came first.
// Options sets it to 1 (unless the environment sets it), once per process,
// before any session of tfcifar opens: that is the one place tfcifar
// changes its environment.
package session
