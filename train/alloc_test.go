package train

import (
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
)

// TestTrainStepAllocations checks that a training step reuses its input
// tensors: what it allocates is Session.Run's own bookkeeping and the
// fetched metrics tensor, not the batch (which would be tens of kilobytes).
func TestTrainStepAllocations(t *testing.T) {
	tr := newTiny(t, tiny{k: 3, seed: 1}, trainCfg(1, 16), testOptions())
	b, err := cifar.NewBatcher(colors(16, 3, 1), 16, 1, 1).Fill([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	if err != nil {
		t.Fatal(err)
	}
	in, err := tr.input(0, b.N)
	if err != nil {
		t.Fatal(err)
	}
	in.images.setFloats(b.Images)
	in.labels.setFloats(b.Labels)
	if _, _, err := tr.trainStep(in, 0.001); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, _, e := tr.trainStep(in, 0.001); e != nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f allocations per step", allocs)
	if allocs > 30 {
		t.Errorf("%.0f allocations per step, want at most 30", allocs)
	}
}
