package confusion

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// MaxPlotClasses bounds the classes WritePNG draws (the image grows with
// them).
const MaxPlotClasses = 100

// WritePNG draws m as a heatmap, true classes as rows from the top,
// predicted classes as columns, each cell's count written in it and its
// shade the count's share of its row (white 0, dark blue 1), with the
// title and class names (cut to MatrixNameWidth) as labels, and writes it
// as a PNG to path (through a temporary file renamed into place). The
// image is square, 100 dots per inch: 700 pixels wide up to eight
// classes, 70 more per class beyond, at most 2400.
func (m *Matrix) WritePNG(path, title string) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	k := len(m.Classes)
	if k == 0 || k > MaxPlotClasses {
		return fmt.Errorf("confusion: %s: %d classes; want 1 to %d", path, k, MaxPlotClasses)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	var xt, yt plot.ConstantTicks
	for i, c := range m.Classes {
		l := Truncate(c, MatrixNameWidth)
		xt = append(xt, plot.Tick{Value: float64(i), Label: l})
		yt = append(yt, plot.Tick{Value: float64(k - 1 - i), Label: l})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
	p.X.Tick.Label.Rotation = 0.6 // radians: long names do not overlap
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.Add(cells{m})
	side := vg.Length(min(24, max(7, 7+0.7*float64(k-8)))) * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(side, side), vgimg.UseDPI(100))
	pad := 3 * vg.Millimeter
	p.Draw(draw.Crop(draw.New(img), pad, -pad, pad, -pad))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("confusion: %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// cells is the plot.Plotter of the matrix's cells: cell (i, j) is the
// unit square centred on x = j, y = k-1-i.
type cells struct{ m *Matrix }

// Plot implements plot.Plotter.
func (c cells) Plot(dc draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&dc)
	k := len(c.m.Classes)
	size := vg.Points(min(12, max(6, 120/float64(k))))
	for i, row := range c.m.Counts {
		support := 0
		for _, n := range row {
			support += n
		}
		y := float64(k - 1 - i)
		for j, n := range row {
			share := ratio(n, support)
			x := float64(j)
			dc.FillPolygon(shade(share), []vg.Point{
				{X: trX(x - 0.5), Y: trY(y - 0.5)}, {X: trX(x + 0.5), Y: trY(y - 0.5)},
				{X: trX(x + 0.5), Y: trY(y + 0.5)}, {X: trX(x - 0.5), Y: trY(y + 0.5)},
			})
			ink := color.Color(color.Black)
			if share > 0.5 {
				ink = color.White
			}
			sty := text.Style{
				Color: ink, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler,
				XAlign: draw.XCenter, YAlign: draw.YCenter,
			}
			dc.FillText(sty, vg.Point{X: trX(x), Y: trY(y)}, strconv.Itoa(n))
		}
	}
}

// DataRange implements plot.DataRanger: the squares around 0..k-1.
func (c cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	k := float64(len(c.m.Classes))
	return -0.5, k - 0.5, -0.5, k - 0.5
}

// shade maps a share in [0, 1] from white to a dark blue.
func shade(share float64) color.Color {
	lo, hi := [3]float64{255, 255, 255}, [3]float64{8, 48, 107}
	mix := func(i int) uint8 { return uint8(lo[i] + (hi[i]-lo[i])*share + 0.5) }
	return color.RGBA{R: mix(0), G: mix(1), B: mix(2), A: 255}
}
