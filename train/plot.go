package train

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// Plot draws the loss (left) and accuracy (right) curves of h per epoch,
// training solid and validation dashed, and writes them as a PNG of
// 1000x400 pixels to path (through a temporary file renamed into place).
func (h *History) Plot(path string) error {
	if len(h.Epochs) == 0 {
		return fmt.Errorf("train: plot %s: the history has no epochs", path)
	}
	title := h.Stage
	if title != "" {
		title += ": "
	}
	loss, err := curves(h, title+"loss", "loss",
		func(e Epoch) float64 { return e.Loss }, func(e Epoch) float64 { return e.ValLoss })
	if err != nil {
		return fmt.Errorf("train: plot %s: %w", path, err)
	}
	acc, err := curves(h, title+"accuracy", "accuracy",
		func(e Epoch) float64 { return e.Accuracy }, func(e Epoch) float64 { return e.ValAccuracy })
	if err != nil {
		return fmt.Errorf("train: plot %s: %w", path, err)
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
		return fmt.Errorf("train: plot %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// curves returns a plot of one metric, training and (when present)
// validation, against the epoch number.
func curves(h *History, title, metric string, train, val func(Epoch) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = metric
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	tr, va := make(plotter.XYs, len(h.Epochs)), make(plotter.XYs, len(h.Epochs))
	for i, e := range h.Epochs {
		tr[i] = plotter.XY{X: float64(e.Epoch), Y: train(e)}
		va[i] = plotter.XY{X: float64(e.Epoch), Y: val(e)}
	}
	series := []struct {
		name string
		xys  plotter.XYs
		c    color.Color
		dash []vg.Length
	}{
		{"training", tr, color.RGBA{R: 31, G: 119, B: 180, A: 255}, nil},
		{"validation", va, color.RGBA{R: 255, G: 127, B: 14, A: 255}, []vg.Length{vg.Points(5), vg.Points(3)}},
	}
	for _, s := range series {
		if s.name == "validation" && !h.validated() {
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

// validated reports whether the epochs have validation metrics.
func (h *History) validated() bool {
	for _, e := range h.Epochs {
		if e.ValLoss != 0 || e.ValAccuracy != 0 {
			return true
		}
	}
	return false
}
