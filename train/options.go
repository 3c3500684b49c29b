package train

import (
	"io"
	"time"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// Options are the settings of a Trainer that do not come from the train
// section of the configuration.
//
// Run gives the seed (used when the train seed is 0), the thread counts and
// device of the session and the progress mode. Out receives the progress
// and the per-epoch lines (nil: nothing is printed). Dir is the stage
// directory where Fit writes checkpoint/, history.json and history.png
// ("" writes nothing). Resume continues from Dir/checkpoint when there is
// one. Init holds initial values by Variable.Name (e.g. reused layers); they
// replace the seeded initial values; a checkpoint, when resuming, replaces
// both. Stage names the History. Scale multiplies pixels when batches are
// made (0: 1, raw 0-255 values). ResumeHint is the advice printed when
// training is interrupted (default: "run again with resume enabled").
// Clock gives the time for durations and the ETA (nil: time.Now). Spent is
// time the stage took before Fit (e.g. computing cached features); it is
// counted in the history's and the printed time taken. LayerRates gives
// layers (by name) their own learning rate instead of the optimizer's, e.g.
// fine-tuned reused layers; schedules scale it as they scale the
// optimizer's rate. Cached holds, by Variable.Name, the values of the
// variables of layers whose outputs were computed ahead (train.Features)
// and are not part of the model: checkpoints keep them, so that they hold
// the whole network whether or not its frozen layers are cached, and a
// resume checks them. Identity describes the stage for its checkpoints.
type Options struct {
	Run        config.Run
	Out        io.Writer
	Dir        string
	Resume     bool
	Init       graph.Weights
	Stage      string
	Scale      float32
	ResumeHint string
	Clock      func() time.Time
	Spent      time.Duration
	LayerRates map[string]float64
	Cached     graph.Weights
	Identity   Identity
}
