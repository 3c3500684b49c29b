package savedmodel

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/internal/tftest"
)

// TestExportRefusesNonFinite checks that values holding a NaN or an
// infinity are never exported, and that the error names the variable.
func TestExportRefusesNonFinite(t *testing.T) {
	net := smallNet(3)
	values := initialValues(t, net, 1)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			_, err := ExportNetwork(dir, net, with(values, "dense/bias", tftest.Tensor(t, []float32{0, bad, 0})), Options{})
			wantErr(t, err, `variable "dense/bias" holds NaN or infinite values`)
			if left := entries(t, filepath.Dir(dir)); len(left) > 0 {
				t.Errorf("refused export left %v", left)
			}
		})
	}
}
