package profile

import (
	"fmt"
	"math/rand/v2"
	"time"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/internal/session"
)

// PeakSize is the side of the square float32 matrices whose product Peak
// times (as the benchmark's matrix product).
const PeakSize = 2048

// Peak returns TensorFlow's rate, in GFLOP/s, of the product of two
// PeakSize x PeakSize float32 matrices in a session configured from run:
// the best of runs runs after one warm-up run (2*n^3 operations each).
func Peak(run config.Run, runs int) (gflops float64, err error) {
	n := PeakSize
	vals := make([]float32, n*n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range vals {
		vals[i] = rng.Float32()
	}
	m, err := tf.NewTensor(vals)
	if err != nil {
		return 0, fmt.Errorf("profile: peak: %w", err)
	}
	if err := m.Reshape([]int64{int64(n), int64(n)}); err != nil {
		return 0, fmt.Errorf("profile: peak: %w", err)
	}
	s := op.NewScope()
	// Fed, not constant: grappler would fold a product of constants.
	a := op.Placeholder(s.SubScope("a"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(n), int64(n))))
	b := op.Placeholder(s.SubScope("b"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(n), int64(n))))
	prod := op.MatMul(s, a, b)
	g, err := s.Finalize()
	if err != nil {
		return 0, fmt.Errorf("profile: peak: %w", err)
	}
	sess, err := session.Open(g, run)
	if err != nil {
		return 0, fmt.Errorf("profile: peak: %w", err)
	}
	defer closer.Join(&err, sess)
	best := time.Duration(0)
	for i := range runs + 1 {
		start := time.Now()
		if _, err := sess.Run(map[tf.Output]*tf.Tensor{a: m, b: m}, nil, []*tf.Operation{prod.Op}); err != nil {
			return 0, fmt.Errorf("profile: peak: %w", err)
		}
		if d := time.Since(start); i > 0 && (best == 0 || d < best) {
			best = d
		}
	}
	return 2 * float64(n) * float64(n) * float64(n) / best.Seconds() / 1e9, nil
}
