// Package console shows a fit on a terminal or in a log, as Keras does: a
// Console attached to train.Trainer.Fit (Console.Hook) prints the epoch
// header, the progress of the steps, one line per epoch with its metrics,
// the decisions of the callbacks and the time taken.
//
// Modes (run.progress): bar redraws one line per epoch in place (for a
// terminal), lines prints a few plain progress lines per epoch (for logs
// and pipes), off prints only the epoch lines, the decisions and the time
// taken; auto is bar on a terminal and lines otherwise. A progress line
// shows the steps done, the ETA, ms/step and images/s since the epoch
// (re)started, the running loss and accuracy and the current learning rate.
// Its fields before the metrics have fixed widths, so the bar does not move
// as the numbers change.
//
// The package owns presentation only: training (package train) reports
// numbers and decisions as values and prints nothing.
package console
