package train

import (
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

func TestRate(t *testing.T) {
	step := config.Schedule{Name: "step", StepEpochs: 2, Gamma: 0.5}
	cosine := config.Schedule{Name: "cosine", Gamma: 0.1}
	constant := config.DefaultSchedule()
	cases := []struct {
		desc        string
		s           config.Schedule
		epoch       int
		step, total int64
		want        float64
	}{
		{"constant", constant, 3, 30, 100, 0.1},
		{"step before the first drop", step, 1, 10, 100, 0.1},
		{"step after one drop", step, 2, 20, 100, 0.05},
		{"step after two drops", step, 5, 50, 100, 0.025},
		{"cosine at the start", cosine, 0, 0, 100, 0.1},
		{"cosine half way", cosine, 2, 50, 100, 0.05},
		{"cosine at the end", cosine, 4, 100, 100, 0},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if got := rate(0.1, c.s, c.epoch, c.step, c.total); !tolerance.EqualWithinAbs(got, c.want, 1e-12) {
				t.Errorf("rate = %g, want %g", got, c.want)
			}
		})
	}
}
