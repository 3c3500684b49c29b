package graph

import (
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// TestShardedDraws checks that a Sharded build fed rows [off, off+n) of a
// batch with Offset off draws the random numbers (augmentation, dropout)
// of the whole batch's build at those rows.
func TestShardedDraws(t *testing.T) {
	net, err := config.ParseNetwork([]byte("input: [4, 4, 3]\nlayers:\n" +
		"  - {type: random_brightness, factor: 0.5, value_range: [0, 255]}\n" +
		"  - {type: flatten}\n  - {type: dropout, rate: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const batch, off, n = 7, 2, 4
	all := images(batch, 4, 4, 3, func(i int) float32 { return float32(i % 200) })
	full := func() [][]float32 {
		s, m := build(t, net, 9)
		out := run(t, session(t, s, m), map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, all), m.Training: tftest.Tensor(t, true)}, []tf.Output{m.Logits}, nil)
		return out[0].Value().([][]float32) //nolint:forcetypeassert // float32 logits
	}()
	s := op.NewScope()
	m, err := Build(s, net, Options{Seed: 9, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[tf.Output]*tf.Tensor{m.Images: tftest.Tensor(t, all[off:off+n]), m.Training: tftest.Tensor(t, true), m.Offset: tftest.Tensor(t, int64(off))}
	shard := run(t, session(t, s, m), feeds, []tf.Output{m.Logits}, nil)[0].Value().([][]float32) //nolint:forcetypeassert // float32 logits
	dropped := 0
	for r := range shard {
		for i, v := range shard[r] {
			if want := full[off+r][i]; v != want {
				t.Fatalf("shard row %d value %d = %g, want the whole batch's row %d: %g", r, i, v, off+r, want)
			}
			if v == 0 {
				dropped++
			}
		}
	}
	if dropped == 0 {
		t.Error("no value dropped: the comparison proves little")
	}
}
