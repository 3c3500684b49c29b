package train

import (
	"math"

	"github.com/tfcifar/tfcifar/config"
)

// rate returns the learning rate of a step: base is the optimizer's rate;
// epoch is 0-based; step counts the steps already taken and total the
// steps of the whole training.
//
//	constant: base
//	step:     base · gamma^floor(epoch / step_epochs)
//	cosine:   base · (1 + cos(π · step / total)) / 2
func rate(base float64, s config.Schedule, epoch int, step, total int64) float64 {
	switch s.Name {
	case "step":
		if s.StepEpochs > 0 {
			return base * math.Pow(s.Gamma, float64(epoch/s.StepEpochs))
		}
	case "cosine":
		if total > 0 {
			return base * (1 + math.Cos(math.Pi*float64(min(step, total))/float64(total))) / 2
		}
	}
	return base
}
