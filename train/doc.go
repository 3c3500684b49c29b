// Package train fits a network built by package graph, entirely in the
// TensorFlow graph: one Session.Run per training step.
//
// New adds to the model's graph (without finalizing the caller's scope)
// the loss (the batch mean of
// SoftmaxCrossEntropyWithLogits of the logits and the one-hot labels), the
// accuracy (mean of argmax(logits) == argmax(labels)), the gradients of the
// loss with respect to the ReadVariableOp outputs of the trainable
// variables only (frozen variables get no update: they stay bit-identical),
// the optimizer and the counters, then opens the session. Adam follows
// Keras (defaults 0.001, 0.9, 0.999, 1e-7) through ResourceApplyAdam, with
// beta1^t and beta2^t computed in the graph from the step counter; SGD uses
// ResourceApplyGradientDescent, or ResourceApplyKerasMomentum with
// momentum and Nesterov. The learning rate is a scalar input fed at every
// step from the schedule (constant, step or cosine). Model.Updates
// (batchnorm statistics, dropout step counters) run with every training
// step, which feeds Model.Training true; evaluation feeds false. With
// run.precision mixed_float16 the graph scales the loss dynamically as
// Keras' LossScaleOptimizer (lossscale.go): a step whose scaled gradients
// are not finite is skipped and halves the scale, which checkpoints keep.
//
// Fit runs the epochs over a Dataset, any labelled source of float32
// examples (a cifar.Set, a scaled cifar.Source over images or cached
// features, or a type of the caller's): batches of train.batch_size whose
// shuffle depends only on the seed (train.seed, else run.seed) and the
// epoch number, validation after every epoch, the callbacks, and a
// checkpoint after every epoch. Epoch metrics are the batch means averaged
// with the batch sizes as weights, as Keras reports them. Each step
// fetches only the two metric scalars and refills the same input tensors
// in place, so a step allocates no batch-sized memory. Validation runs
// two batches at once (evaluate.go), filled one at a time.
//
// Outputs computes, in a session of its own, a model's output over every
// example of some sets, once (the features of frozen layers that a
// transfer stage caches); OutputsTo hands them batch by batch to a Sink
// instead, such as a cifar.PackedFeatures that keeps them without their
// zeros, so that all of them never need to be held densely.
//
// # Hooks
//
// Fit itself prints nothing and writes only checkpoints. Everything else
// listens through Hooks given to Fit (as GoMLX attaches them to its
// train.Loop): EpochBegin, Step after every step with a Progress (steps,
// running and batch metrics, the learning rate), EpochEnd with the
// recorded Epoch, End with the History and Fit's error. The console
// (package train/console), history.json and history.png (train/history)
// and TensorBoard logs (train/board) are such hooks; the caller's own are
// attached the same way (see ExampleHook).
//
// # Callbacks
//
// train.callbacks of the configuration runs Keras' EarlyStopping,
// ReduceLROnPlateau and ModelCheckpoint(save_best_only) after every epoch,
// with Keras' rules (monitor, mode, patience, min_delta, cooldown, min_lr).
// They print nothing: their decisions are recorded in Epoch.Decisions (and
// so in history.json) for hooks to show. reduce_lr_on_plateau multiplies
// the schedule's rate by a factor, from the next epoch on: that rate is
// the one fed to the optimizer, shown in Progress and recorded per epoch.
// best_epoch, or early_stopping with restore_best_weights, keeps the
// weights of the best epoch (a bundle of the model's variables, in the
// checkpoint under best/ or, without checkpoints, in a scratch directory)
// and leaves them in the session when Fit ends, so that Values and an
// export hold them. The callbacks' state (best values, waits, the rate
// factor, the kept epoch) is saved with the checkpoint, so a resumed fit
// decides as an uninterrupted one; a resumed fit that early stopping had
// stopped runs no more epochs.
//
// # Checkpoints and resume
//
// Options.Dir/checkpoint holds all variables (weights, optimizer slots,
// step and epoch counters, the model's own state such as dropout seed
// counters) in the TensorFlow V2 format (a checkpoint.Saver), plus
// state.json: the
// position in the loop, the sums of the running epoch and the history so
// far. It is written into a temporary directory renamed into place. When
// the context is cancelled, Fit stops between two steps, saves a
// checkpoint at that step and returns an *Interrupted error. With
// Options.Resume, New restores the checkpoint and Fit continues from the
// same step with the same shuffles and dropout masks: the final weights
// equal those of an uninterrupted run. state.json also records what the
// values mean (Options.Identity, the seeds, batch size, optimizer,
// schedule, layer rates and a fingerprint of the reused values); New
// checks every field it reads and refuses a resume that changes the
// meaning with a *ResumeRefused. Options.Cached values (layers whose
// outputs were computed ahead) are saved too, so a checkpoint holds the
// whole network whether or not those layers are cached.
//
// # Divergence
//
// Fit stops at the first NaN or infinite loss (training step or
// validation) or variable with an error wrapping ErrDiverged; nothing
// non-finite is written to a checkpoint (nor, by their hooks, to the
// history or the chart).
//
// # Determinism
//
// With a fixed seed, the same thread counts (run.intra_op_threads,
// run.inter_op_threads) and the same machine and TensorFlow build, two runs
// give identical initial weights, shuffles, dropout masks, per-epoch
// metrics and final weights; a resumed run equals an uninterrupted one.
// Thread counts are honoured per session: sessions are opened by
// internal/session, which asks for per-session pools and sets
// TF_OVERRIDE_GLOBAL_THREADPOOL=1 (unless the environment sets it), since
// otherwise the first session of the process fixes the pool all later
// sessions share, and results would depend on which session ran first.
// Not guaranteed: equality across machines or CPU types (oneDNN and Eigen
// choose kernels and blockings by instruction set, so float rounding
// differs), across TensorFlow versions, on GPUs, and with other thread
// counts (on the reference network this package found runs with 0, 1 and
// 2 threads equal, but TensorFlow does not promise it). Seconds and
// "Time taken" are wall times and vary.
package train
