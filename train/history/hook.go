package history

import (
	"path/filepath"

	"github.com/tfcifar/tfcifar/train"
)

// The files Hook writes into its directory.
const (
	JSONFile  = "history.json"
	ChartFile = "history.png"
)

// Hook returns a hook that, when Fit succeeds, names the history stage and
// writes it as JSONFile and ChartFile into dir.
func Hook(dir, stage string) train.Hook {
	return train.Hook{End: func(e train.End) error {
		if e.Err != nil || e.History == nil {
			return nil
		}
		h := *e.History
		h.Stage = stage
		if err := h.WriteJSON(filepath.Join(dir, JSONFile)); err != nil {
			return err
		}
		return Plot(&h, filepath.Join(dir, ChartFile))
	}}
}
