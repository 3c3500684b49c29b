package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestPreviewCIFAR100 previews a CIFAR-100 fixture with its coarse labels.
func TestPreviewCIFAR100(t *testing.T) {
	dir := filepath.Join(t.TempDir(), cifar.DirName100)
	fine, coarse := cifartest.Names100()
	l := cifar.Labels100{Fine: []uint8{3, 50, 99, 0}, Coarse: []uint8{1, 10, 19, 0}}
	img := make([]byte, 4*cifar.ImageSize)
	if err := cifar.Save100(dir, img, img, l, l, fine, coarse); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(t.TempDir(), "p.png")
	var out bytes.Buffer
	err := run(context.Background(), []string{"preview", "-data", dir, "-set", "data.source=cifar100", "-set", "data.labels=coarse", "-o", png}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 || !strings.Contains(out.String(), "wrote "+png+" (4 images)") {
		t.Errorf("preview: %v, output %q", err, out.String())
	}
}
