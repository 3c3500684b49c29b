package tensorboard_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/tensorboard"
)

// A run's metrics, one file per Writer under the run's log directory;
// `tensorboard --logdir DIR` shows them.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "tensorboard")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	w, err := tensorboard.NewWriter(filepath.Join(dir, "base", "train"), config.Run{Device: "cpu"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close() // after the Close below, does nothing
	for epoch, loss := range []float64{2.30, 1.71, 1.42} {
		if err := w.Scalar("epoch_loss", int64(epoch), loss); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "base", "train", "events.out.tfevents.*.v2"))
	fmt.Println(len(files), "event file")
	// Output: 1 event file
}
