package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tfcifar/tfcifar/config"
)

// progressLines is the number of progress lines printed within an epoch in
// lines mode (at evenly spaced steps, the last step excluded).
const progressLines = 3

// reporter prints the progress of a fit in one of three modes: bar (a
// live bar with steps, ETA, running loss and accuracy), lines (a few plain
// progress lines per epoch) or off (only the summary lines). Every mode
// prints one line per epoch and the time taken at the end.
type reporter struct {
	w      io.Writer
	mode   string
	clock  func() time.Time
	epochs int

	epoch, steps int
	start        time.Time
	first        int // steps done when the epoch (re)started
	next         int // index of the next progress line (lines mode)
	bar          *progressbar.ProgressBar
	described    time.Time
}

// ProgressMode resolves the run.progress mode auto (or "") for output
// to w: bar when w is a terminal, lines otherwise. Other modes are
// returned as they are.
func ProgressMode(w io.Writer, mode string) string {
	if mode == config.ProgressAuto || mode == "" {
		mode = config.ProgressLines
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = config.ProgressBar
		}
	}
	return mode
}

// newReporter resolves auto to bar when w is a terminal, lines otherwise.
func newReporter(w io.Writer, mode string, clock func() time.Time, epochs int) *reporter {
	return &reporter{w: w, mode: ProgressMode(w, mode), clock: clock, epochs: epochs}
}

// begin starts epoch (0-based) of steps steps, done of them already done.
func (r *reporter) begin(epoch, steps, done int) {
	r.epoch, r.steps, r.first, r.start = epoch, steps, done, r.clock()
	r.described = time.Time{}
	r.next = 1
	for r.next <= progressLines && r.mark(r.next) <= done {
		r.next++
	}
	if r.mode != config.ProgressBar {
		return
	}
	r.bar = progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetDescription(r.title()),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	if done > 0 {
		_ = r.bar.Set(done)
	}
}

// mark returns the step after which progress line i is printed.
func (r *reporter) mark(i int) int { return (r.steps*i + progressLines) / (progressLines + 1) }

func (r *reporter) title() string { return fmt.Sprintf("Epoch %d/%d", r.epoch+1, r.epochs) }

// step reports that done steps of the epoch are complete, with the running
// mean loss and accuracy of the epoch.
func (r *reporter) step(done int, loss, acc float64) {
	switch r.mode {
	case config.ProgressBar:
		_ = r.bar.Set(done)
		if now := r.clock(); now.Sub(r.described) >= 250*time.Millisecond || done == r.steps {
			r.described = now
			r.bar.Describe(fmt.Sprintf("%s - loss: %.4f - accuracy: %.4f", r.title(), loss, acc))
		}
	case config.ProgressLines:
		if r.next > progressLines || done < r.mark(r.next) || done >= r.steps {
			return
		}
		for r.next <= progressLines && r.mark(r.next) <= done {
			r.next++
		}
		el := r.clock().Sub(r.start).Seconds()
		eta := el / float64(done-r.first) * float64(r.steps-done)
		fmt.Fprintf(r.w, "%s - %d/%d - ETA: %s - loss: %.4f - accuracy: %.4f\n", r.title(), done, r.steps, seconds(eta), loss, acc)
	}
}

// end closes the bar of the epoch and prints its summary line.
func (r *reporter) end(e Epoch, validated bool) {
	r.stop()
	var b strings.Builder
	fmt.Fprintf(&b, "Epoch %d/%d - %s - loss: %.4f - accuracy: %.4f", e.Epoch, r.epochs, seconds(e.Seconds), e.Loss, e.Accuracy)
	if validated {
		fmt.Fprintf(&b, " - val_loss: %.4f - val_accuracy: %.4f", e.ValLoss, e.ValAccuracy)
	}
	fmt.Fprintln(r.w, b.String())
}

// stop removes the bar, if any (at the end of an epoch or when stopped).
func (r *reporter) stop() {
	if r.bar != nil {
		_ = r.bar.Exit()
		_ = r.bar.Clear()
		r.bar = nil
	}
}

// done prints the time taken by the whole fit.
func (r *reporter) done(total float64) { fmt.Fprintf(r.w, "Time taken: %s\n", seconds(total)) }

// seconds formats a duration in seconds as Keras-like text, e.g. "12.3s".
func seconds(s float64) string { return fmt.Sprintf("%.1fs", s) }
