package console

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/train"
)

// progressLines is the number of progress lines printed within an epoch in
// lines mode (at evenly spaced steps, the last step excluded).
const progressLines = 3

// barWidth is the number of cells of the bar.
const barWidth = 20

// redraw is the shortest time between two redraws of the bar.
const redraw = 100 * time.Millisecond

// Options configure a Console. Mode is a run.progress mode ("": auto).
// Clock gives the time for ETAs and rates (nil: time.Now). Width is the
// number of columns a bar line may take (0: the terminal's, else 160).
type Options struct {
	Out   io.Writer
	Mode  string
	Clock func() time.Time
	Width int
}

// Console prints the progress of a fit. It is used by one Fit at a time.
type Console struct {
	w     io.Writer
	mode  string
	clock func() time.Time
	width int

	// the running epoch
	start     time.Time
	first     int // steps done when the epoch (re)started
	examples  int // examples done then
	next      int // index of the next progress line (lines mode)
	drawn     time.Time
	bar       bool // a bar line is on screen
	lastSpeed speed
}

// New returns a Console writing to opt.Out (nil: nothing is printed). An
// unknown mode is an error naming run.progress.
func New(opt Options) (*Console, error) {
	mode := opt.Mode
	if mode == "" {
		mode = config.ProgressAuto
	}
	if !slices.Contains(config.Progresses(), mode) {
		return nil, fmt.Errorf("run.progress: want one of %s, got %q", strings.Join(config.Progresses(), ", "), mode)
	}
	c := &Console{w: opt.Out, mode: mode, clock: opt.Clock, width: opt.Width}
	if c.w == nil {
		c.w = io.Discard
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	c.mode = Mode(c.w, c.mode)
	if c.width <= 0 {
		c.width = 160
		if f, ok := c.w.(*os.File); ok && isTerminal(f) {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
				c.width = w
			}
		}
	}
	return c, nil
}

// Hook returns the hook that prints Fit's progress.
func (c *Console) Hook() train.Hook {
	return train.Hook{EpochBegin: c.begin, Step: c.step, EpochEnd: c.end, End: c.done}
}

func (c *Console) begin(p train.Progress) error {
	c.start, c.first, c.examples = c.clock(), p.Step, p.Examples
	c.drawn, c.lastSpeed = time.Time{}, speed{}
	c.next = 1
	for c.next <= progressLines && mark(p.Steps, c.next) <= p.Step {
		c.next++
	}
	_, err := fmt.Fprintf(c.w, "Epoch %d/%d\n", p.Epoch, p.Epochs)
	return err
}

// mark returns the step after which progress line i of steps is printed.
func mark(steps, i int) int { return (steps*i + progressLines) / (progressLines + 1) }

// speed is the pace of the epoch's steps since it (re)started.
type speed struct {
	elapsed, eta, msPerStep, imagesPerSec float64
}

func (c *Console) measure(p train.Progress) speed {
	el := c.clock().Sub(c.start).Seconds()
	s := speed{elapsed: el}
	if done := p.Step - c.first; done > 0 {
		s.msPerStep = el / float64(done) * 1000
		s.eta = el / float64(done) * float64(p.Steps-p.Step)
	}
	if el > 0 {
		s.imagesPerSec = float64(p.Examples-c.examples) / el
	}
	return s
}

func (c *Console) step(p train.Progress) error {
	if p.Step == p.Steps && c.mode != config.ProgressBar {
		c.lastSpeed = c.measure(p) // the epoch line's pace, without validation
	}
	switch c.mode {
	case config.ProgressBar:
		now := c.clock()
		if now.Sub(c.drawn) < redraw && p.Step < p.Steps {
			return nil
		}
		c.drawn = now
		c.lastSpeed = c.measure(p)
		line := truncate(c.progress(p, c.lastSpeed, true), c.width-1)
		c.bar = true
		_, err := fmt.Fprintf(c.w, "\r%s\033[K", line)
		return err
	case config.ProgressLines:
		if c.next > progressLines || p.Step < mark(p.Steps, c.next) || p.Step >= p.Steps {
			return nil
		}
		for c.next <= progressLines && mark(p.Steps, c.next) <= p.Step {
			c.next++
		}
		_, err := fmt.Fprintln(c.w, c.progress(p, c.measure(p), false))
		return err
	}
	return nil
}

// progress formats a progress line: the step count and, with bar, the
// bar, then the ETA, the pace, the running metrics and the rate.
func (c *Console) progress(p train.Progress, s speed, bar bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", counter(p.Step, p.Steps))
	if bar {
		done := barWidth * p.Step / max(p.Steps, 1)
		b.WriteString(" " + strings.Repeat("━", done) + strings.Repeat("─", barWidth-done))
	}
	fmt.Fprintf(&b, " - ETA: %s - %s - loss: %.4f - accuracy: %.4f - learning_rate: %s", duration(s.eta), pace(s), p.Loss, p.Accuracy, rate(p.LearningRate))
	return b.String()
}

// counter formats done/steps with done padded to the width of steps.
func counter(done, steps int) string {
	n := len(fmt.Sprint(steps))
	return fmt.Sprintf("%*d/%d", n, done, steps)
}

// pace formats ms/step and images/s in fixed widths.
func pace(s speed) string {
	return fmt.Sprintf("%5.0fms/step - %6.0f images/s", s.msPerStep, s.imagesPerSec)
}

// rate formats a learning rate as Keras does (0.001, 5e-05).
func rate(r float64) string { return fmt.Sprintf("%.4g", r) }

// duration formats seconds in a fixed width of 7: "  12.3s", "  4m05s",
// "  2h03m".
func duration(s float64) string {
	switch {
	case math.IsNaN(s) || s < 0:
		s = 0
	case s >= 100*3600:
		return "   >99h"
	}
	switch {
	case s < 60:
		return fmt.Sprintf("%6.1fs", s)
	case s < 3600:
		return fmt.Sprintf("%3dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%3dh%02dm", int(s)/3600, int(s)%3600/60)
}

// truncate cuts line to width runes.
func truncate(line string, width int) string {
	if width <= 0 || utf8.RuneCountInString(line) <= width {
		return line
	}
	r := []rune(line)
	return string(r[:width])
}

// end prints the epoch line and the callbacks' decisions.
func (c *Console) end(e train.EpochEnd) error {
	s := c.lastSpeed
	if s.elapsed == 0 {
		s = c.measure(e.Progress)
	}
	ep := e.Epoch
	var b strings.Builder
	if c.bar {
		b.WriteString("\r\033[K")
		c.bar = false
	}
	fmt.Fprintf(&b, "%s - %s - %s - loss: %.4f - accuracy: %.4f", counter(e.Steps, e.Steps), seconds(ep.Seconds), pace(s), ep.Loss, ep.Accuracy)
	if e.Validated {
		fmt.Fprintf(&b, " - val_loss: %.4f - val_accuracy: %.4f", ep.ValLoss, ep.ValAccuracy)
	}
	fmt.Fprintf(&b, " - learning_rate: %s\n", rate(ep.LearningRate))
	for _, d := range ep.Decisions {
		fmt.Fprintf(&b, "Epoch %d: %s\n", ep.Epoch, Describe(d))
	}
	_, err := io.WriteString(c.w, b.String())
	return err
}

// Describe says what a callback decided, in Keras' words where it has
// some.
func Describe(d train.Decision) string {
	switch d.Action {
	case train.ActionBest:
		return fmt.Sprintf("%s: %s improved to %.4f; keeping the weights of this epoch", d.Callback, d.Monitor, d.Value)
	case train.ActionStop:
		return fmt.Sprintf("early stopping: %s has not improved for %s (%.4f; best %.4f at epoch %d)", d.Monitor, epochs(d.Wait), d.Value, d.Best, d.BestAt)
	case train.ActionReduceLR:
		return fmt.Sprintf("ReduceLROnPlateau reducing learning rate to %s (%s has not improved for %s; best %.4f at epoch %d)", rate(d.LearningRate), d.Monitor, epochs(d.Wait), d.Best, d.BestAt)
	}
	return fmt.Sprintf("%s: %s", d.Callback, d.Action)
}

// epochs formats a number of epochs.
func epochs(n int) string {
	if n == 1 {
		return "1 epoch"
	}
	return fmt.Sprintf("%d epochs", n)
}

// done removes a bar left by a stopped epoch and, when Fit succeeded,
// prints which weights it kept and the time taken.
func (c *Console) done(e train.End) error {
	var b strings.Builder
	if c.bar {
		b.WriteString("\r\033[K")
		c.bar = false
	}
	if e.Err == nil && e.History != nil {
		h := e.History
		if n := h.WeightsEpoch; n > 0 && n != len(h.Epochs) {
			fmt.Fprintf(&b, "Restoring model weights from the end of the best epoch: %d.\n", n)
		}
		fmt.Fprintf(&b, "Time taken: %s\n", seconds(h.TimeTaken))
	}
	_, err := io.WriteString(c.w, b.String())
	return err
}

// seconds formats a duration in seconds as Keras-like text, e.g. "12.3s".
func seconds(s float64) string { return fmt.Sprintf("%.1fs", s) }

// Mode resolves the run.progress mode auto (or "") for output to w: bar
// when w is a terminal, lines otherwise. Other modes are returned as they
// are.
func Mode(w io.Writer, mode string) string {
	if mode != config.ProgressAuto && mode != "" {
		return mode
	}
	if isTerminal(w) {
		return config.ProgressBar
	}
	return config.ProgressLines
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
