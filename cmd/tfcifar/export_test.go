package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/tftest"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// TestExportUsage checks the usage errors of export.
func TestExportUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no format", []string{"export", dir, "m.keras"}, "-format keras is required"},
		{"unknown format", []string{"export", "-format", "onnx", dir, "m.keras"}, `-format "onnx": want one of [keras]`},
		{"no output", []string{"export", "-format", "keras", dir}, "want MODEL OUT.keras, got 1 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			if got := exitCode(err); got != exitUsage {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitUsage)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestExportKeras runs export -format keras on a tfcifar export, then on a
// directory that is not one, which must fail and leave the earlier
// archive in place.
func TestExportKeras(t *testing.T) {
	tmp := t.TempDir()
	net := config.Default().Stages[0].Model
	s := op.NewScope()
	m, err := graph.Build(s, net, graph.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := graph.Weights{}
	for _, v := range m.Variables {
		if len(v.Shape) == 0 {
			w[v.Name] = tftest.Tensor(t, float32(0))
			continue
		}
		n := int64(1)
		for _, d := range v.Shape {
			n *= d
		}
		w[v.Name] = tftest.Tensor(t, make([]float32, n))
		if err := w[v.Name].Reshape(v.Shape); err != nil {
			t.Fatal(err)
		}
	}
	model, err := savedmodel.ExportNetwork(filepath.Join(tmp, "model"), net, w, savedmodel.Options{Scale: 1.0 / 255})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "model.keras")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"export", "-format", "keras", model, out}, &stdout); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "wrote "+out+"\n" {
		t.Errorf("printed %q", got)
	}
	z, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	z.Close()
	if got := strings.Join(names, " "); got != "metadata.json config.json model.weights.h5" {
		t.Errorf("archive holds %s", got)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"export", "-format", "keras", tmp, out}, &bytes.Buffer{})
	if got := exitCode(err); got != exitFailure || !strings.Contains(err.Error(), tmp) {
		t.Errorf("export of a directory that is no export: exit code %d, error %v", got, err)
	}
	if after, err := os.ReadFile(out); err != nil || !bytes.Equal(after, before) {
		t.Errorf("a failed export changed %s (read: %v)", out, err)
	}
}
