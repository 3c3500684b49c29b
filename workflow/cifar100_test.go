package workflow

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// TestRunCIFAR100 runs the reference workflow on a CIFAR-100 fixture with
// its coarse labels: superclasses 0-4, then 5-9.
func TestRunCIFAR100(t *testing.T) {
	dir := filepath.Join(t.TempDir(), cifar.DirName100)
	fine, coarse := cifartest.Names100()
	labels := func(n int) cifar.Labels100 {
		var l cifar.Labels100
		for i := range n {
			f := uint8(i % 50)
			l.Fine, l.Coarse = append(l.Fine, f), append(l.Coarse, f/5)
		}
		return l
	}
	pixels := func(n int) []byte {
		b := make([]byte, n*cifar.ImageSize)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	if err := cifar.Save100(dir, pixels(300), pixels(100), labels(300), labels(100), fine, coarse); err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig(t, dir, "data.source=cifar100", "data.labels=coarse")
	var out bytes.Buffer
	rep, err := Run(context.Background(), cfg, Options{Out: &out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	// 400 images, 40 per superclass 0-9: 200 of classes 0-4, 80% training.
	if !strings.Contains(out.String(), "== Stage base: classes [0 1 2 3 4], 160 training and 40 validation images") {
		t.Errorf("output lacks the base stage's split:\n%s", out.String())
	}
	m, err := savedmodel.ReadMeta(rep.Stages[1].Export)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"coarse5", "coarse6", "coarse7", "coarse8", "coarse9"}; !slices.Equal(m.Classes, want) {
		t.Errorf("transfer export classes %v, want %v", m.Classes, want)
	}
}
