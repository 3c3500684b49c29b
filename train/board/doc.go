// Package board logs a fit to TensorBoard as Keras' TensorBoard callback
// does: a Board attached to train.Trainer.Fit (Board.Hook) writes, through
// package tensorboard, event files under DIR/train and DIR/validation
// (a stage writes them under <run.out>/<stage>/logs):
//
//   - per epoch (step = epoch - 1, as Keras counts): epoch_loss,
//     epoch_accuracy and epoch_learning_rate under train, epoch_loss and
//     epoch_accuracy under validation, the values history.json records;
//   - every UpdateFreq training steps (step = steps done; 0: never):
//     batch_loss, batch_accuracy (the epoch's running means, as Keras logs
//     them) and batch_learning_rate under train;
//   - per epoch, under train, a histogram of every float32 weight of the
//     model (tag: the variable's name) and of Options.Fixed, but not of
//     bookkeeping variables named in Options.Skip;
//   - once, under train, the graph that is trained.
//
// A resumed fit adds new event files; TensorBoard reads all the files of a
// directory as one run.
package board
