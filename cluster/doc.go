// Package cluster trains on several machines over TensorFlow's own
// distributed runtime: the gRPC servers behind TensorFlow clusters
// (internal/tfserver), no protocol of tfcifar's.
//
// # Tasks
//
// The config's cluster section (config.Cluster) names the tasks: job name
// to host:port list. Every task of the job "worker" runs Serve (tfcifar
// worker -task N): it starts the task's server, publishes Version in a
// string variable on its own device and serves until its context ends.
// The chief, one task of the cluster (its own job, e.g. chief:0, or a
// worker), runs the workflow: Start starts its server and checks every
// worker (Check): it reads the worker's published version through an op
// pinned to the worker's device, and refuses a worker that does not
// answer, that is no tfcifar worker, or whose tfcifar or libtensorflow
// differs from its own. Check runs again before every epoch (Hook).
//
// # Training
//
// Synchronous data parallelism with in-graph replication (Split, a
// train.Split): the chief's graph holds the model and its variables, the
// optimizer, checkpoints and validation, all on the chief. The network is
// built once more in a graph of its own (graph.Options.Sharded) with the
// per-example losses (train.Losses) summed over its input and their
// gradients; that graph is imported once per worker under the worker's
// device, its inputs mapped to a slice of the chief's batch, the chief's
// labels, training switch and variable reads. Shard i of a batch of n is
// examples n*i/W to n*(i+1)/W of W workers; the chief adds the shards'
// summed losses, hits and gradients and divides by n, which is the batch
// mean one process computes, up to the order of the float sums. (A batch
// smaller than the workers' count leaves shards empty: such a shard
// computes the batch's last example with weight 0, since TensorFlow's
// convolution gradients fail on empty batches.) Dropout
// and augmentation draw the whole batch's random numbers at the shard's
// rows, so masks are those of a single-process run; the step counters
// that seed them advance once per step on the chief. A batchnorm that
// trains is refused (its batch statistics would be the shard's).
// Checkpoints are the chief's: -resume continues with the same shuffles,
// masks and, once the workers are back, the same results.
//
// # What travels
//
// The chief feeds the data: every step, each worker receives its shard of
// images (float32) and labels and the current value of every variable it
// reads, and sends back one gradient per trainable variable and two
// scalars. For the reference base network (418,837 float32 parameters)
// that is 2 x 1.68 MB of weights and gradients per worker plus the
// batch's 1.23 MB of images (batch_size 100), 7.9 MB per step with two
// workers; the README has the measured table. Validation runs on the
// chief.
//
// # Faults
//
// The chief's sessions fail a call to a task that cannot be reached at
// once (GRPC_FAIL_FAST=true unless the environment sets it). A training
// step may take three quarters of cluster.timeout
// (ConfigProto.operation_timeout_in_ms); when it fails, Explain checks
// the workers within the last quarter (a Go-side timer) and returns a
// *WorkerError naming the task and address of the first that does not
// answer. TensorFlow's session close waits for every task without a
// deadline, so once a worker failed the chief's sessions are left to the
// process's exit: a dead or hung worker stops the run within
// cluster.timeout.
//
// # Trust
//
// TensorFlow's gRPC servers are unauthenticated and listen on all
// interfaces at their task's port: anyone who reaches the port can run
// any op in the process. A task's host must be an address of the machine
// that serves it; Serve and Start warn when it is neither loopback nor
// private. Run a cluster on a trusted network only.
package cluster
