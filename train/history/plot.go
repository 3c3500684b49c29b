package history

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/train"
)

// Plot draws the loss (left) and accuracy (right) curves of h per epoch,
// training solid and validation dashed, and writes them as a PNG of
// 1000x400 pixels to path (through a temporary file renamed into place).
func Plot(h *train.History, path string) error {
	if len(h.Epochs) == 0 {
		return fmt.Errorf("history: plot %s: the history has no epochs", path)
	}
	title := h.Stage
	if title != "" {
		title += ": "
	}
	loss, err := curves(h, title+"loss", "loss",
		func(e train.Epoch) float64 { return e.Loss }, func(e train.Epoch) float64 { return e.ValLoss })
	if err != nil {
		return fmt.Errorf("history: plot %s: %w", path, err)
	}
	acc, err := curves(h, title+"accuracy", "accuracy",
		func(e train.Epoch) float64 { return e.Accuracy }, func(e train.Epoch) float64 { return e.ValAccuracy })
	if err != nil {
		return fmt.Errorf("history: plot %s: %w", path, err)
	}
	acc.Legend.Top = false // accuracy rises towards the top right corner
	img := vgimg.NewWith(vgimg.UseWH(10*vg.Inch, 4*vg.Inch), vgimg.UseDPI(100))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	cells := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(cells[0][0])
	acc.Draw(cells[0][1])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("history: plot %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// curves returns a plot of one metric, training and (when present)
// validation, against the epoch number.
func curves(h *train.History, title, metric string, tr, val func(train.Epoch) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = metric
	p.X.Tick.Marker, p.Y.Tick.Marker = exactTicks{minStep: 1}, exactTicks{} // whole epochs
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	trs, va := make(plotter.XYs, len(h.Epochs)), make(plotter.XYs, len(h.Epochs))
	for i, e := range h.Epochs {
		trs[i] = plotter.XY{X: float64(e.Epoch), Y: tr(e)}
		va[i] = plotter.XY{X: float64(e.Epoch), Y: val(e)}
	}
	series := []struct {
		name string
		xys  plotter.XYs
		c    color.Color
		dash []vg.Length
	}{
		{"training", trs, color.RGBA{R: 31, G: 119, B: 180, A: 255}, nil},
		{"validation", va, color.RGBA{R: 255, G: 127, B: 14, A: 255}, []vg.Length{vg.Points(5), vg.Points(3)}},
	}
	for _, s := range series {
		if s.name == "validation" && !validated(h) {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes, pts.Color = s.c, s.dash, s.c
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return p, nil
}

// validated reports whether the epochs of h have validation metrics.
func validated(h *train.History) bool {
	for _, e := range h.Epochs {
		if e.ValLoss != 0 || e.ValAccuracy != 0 {
			return true
		}
	}
	return false
}

// exactTicks is a plot.Ticker whose labels are exactly their positions
// (gonum's default ticker may label 1.45 "1.5"): major ticks at multiples
// of a step of 1, 2 or 5 times a power of ten, about five to a range,
// labelled with the decimals the step needs and placed at the value the
// label reads; unlabelled minor ticks halfway between them. The step is
// at least minStep (when > 0; e.g. 1 for whole epochs).
type exactTicks struct{ minStep float64 }

// Ticks implements plot.Ticker.
func (e exactTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * pow
	for _, m := range []float64{1, 2, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	step = max(step, e.minStep)
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+1e-9*step; k++ {
		label := strconv.FormatFloat(k*step, 'f', decimals, 64)
		if label == "-"+strconv.FormatFloat(0, 'f', decimals, 64) {
			label = label[1:]
		}
		v, _ := strconv.ParseFloat(label, 64)
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
		if half := (k + 0.5) * step; half <= hi && e.minStep == 0 {
			ticks = append(ticks, plot.Tick{Value: half})
		}
	}
	return ticks
}
