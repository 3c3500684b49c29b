package workflow

import (
	"testing"

	"github.com/tfcifar/tfcifar/config"
)

func TestTrainFLOPs(t *testing.T) {
	// conv 12*(2*18+1) = 444, maxpool 12, flatten 0, dropout 3, dense
	// 2*(2*3+1) = 14, activation 2: 475 forward per image.
	net := func(frozen bool) config.Network {
		return config.Network{Input: []int{4, 4, 2}, Layers: []config.Layer{
			{Type: config.Conv2D, Filters: 3, Kernel: config.Size{3, 3}, Frozen: frozen},
			{Type: config.MaxPooling2D},
			{Type: config.Flatten},
			{Type: config.Dropout, Rate: 0.5},
			{Type: config.Dense, Units: 2},
			{Type: config.Activation, Activation: config.Softmax},
		}}.Named()
	}
	cases := []struct {
		name   string
		frozen bool
		cached int
		want   float64
	}{
		{"all trained", false, 0, 2*10*(475+2*475) + 2*5*475},
		{"conv frozen", true, 0, 2*10*(475+2*16) + 2*5*475},
		{"conv and pool cached", true, 2, 456*15 + 2*10*(19+2*16) + 2*5*19},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := trainFLOPs(net(c.frozen), 2, 10, 5, c.cached)
			if err != nil || got != c.want {
				t.Errorf("trainFLOPs = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
