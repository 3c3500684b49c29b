package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/cifartest"
)

// TestImport checks that import prints a network that parses back as the
// model of a stage, how to reuse it, and the summary with its counts.
func TestImport(t *testing.T) {
	path := filepath.Join(cifartest.ModuleRoot(t), "keras", "testdata", "small.keras")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", path}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	spec, _, ok := strings.Cut(text, "# Reuse")
	if !ok {
		t.Fatalf("no reuse hint in:\n%s", text)
	}
	net, err := config.ParseNetwork([]byte(spec))
	if err != nil {
		t.Fatalf("the printed network does not parse: %v\n%s", err, spec)
	}
	if len(net.Layers) != 6 || net.Layers[1].Type != config.BatchNormalization || net.Input[0] != 8 {
		t.Errorf("printed network %+v, want the 6 layers of small.keras on [8 8 3]", net)
	}
	for _, want := range []string{
		"from: {keras: " + path + ", up_to: dense, frozen: true}",
		"batch_normalization (BatchNormalization)",
		"Total params: 121", "Trainable params: 117", "Non-trainable params: 4",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
