package libtf

import (
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"

	"github.com/tfcifar/tfcifar/internal/tolerance"
)

func TestVersion(t *testing.T) {
	t.Logf("libtensorflow version %s", Version())
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

// run finalizes the scope's graph and fetches outputs with the given feeds.
func run(t *testing.T, s *op.Scope, feeds map[tf.Output]*tf.Tensor, fetches ...tf.Output) []*tf.Tensor {
	t.Helper()
	g, err := s.Finalize()
	if err != nil {
		t.Fatalf("building graph: %v", err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer sess.Close()
	out, err := sess.Run(feeds, fetches, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

// TestConvMatMul runs a convolution and a matrix multiply, built through tfgo
// on constants, and checks them against sums computed here.
func TestConvMatMul(t *testing.T) {
	root := tg.NewRoot()
	// A 1x4x4x2 image and a 3x3x2x2 kernel with distinct values.
	var img [1][4][4][2]float32
	var ker [3][3][2][2]float32
	for y := range 4 {
		for x := range 4 {
			for c := range 2 {
				img[0][y][x][c] = float32(y*8 + x*2 + c)
			}
		}
	}
	for i := range 3 {
		for j := range 3 {
			for c := range 2 {
				for f := range 2 {
					ker[i][j][c][f] = float32((i*3+j)-c+2*f) / 10
				}
			}
		}
	}
	conv := op.Conv2D(root.SubScope("conv"), tg.Const(root, img), tg.Const(root, ker), []int64{1, 1, 1, 1}, "VALID")
	a := [2][3]float32{{1, 2, 3}, {4, 5, 6}}
	b := [3][2]float32{{7, 8}, {9, 10}, {11, 12}}
	mm := tg.NewTensor(root, tg.Const(root, a)).MatMul(tg.Const(root, b)).Output
	out := run(t, root, nil, conv, mm)

	gotConv := out[0].Value().([][][][]float32)
	for y := range 2 {
		for x := range 2 {
			for f := range 2 {
				var want float32
				for i := range 3 {
					for j := range 3 {
						for c := range 2 {
							want += img[0][y+i][x+j][c] * ker[i][j][c][f]
						}
					}
				}
				if got := gotConv[0][y][x][f]; !tolerance.EqualWithinAbs(float64(got), float64(want), 1e-4) {
					t.Errorf("conv[0][%d][%d][%d] = %v, want %v", y, x, f, got, want)
				}
			}
		}
	}
	gotMM := out[1].Value().([][]float32)
	for i := range 2 {
		for j := range 2 {
			var want float32
			for k := range 3 {
				want += a[i][k] * b[k][j]
			}
			if gotMM[i][j] != want {
				t.Errorf("matmul[%d][%d] = %v, want %v", i, j, gotMM[i][j], want)
			}
		}
	}
}
