package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("stages:\n  - name: base\n    classes: [0, 1]\n    model: {input: [32, 32, 3], layers: [{type: conv3d}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // all must appear in the message
	}{
		{"unknown flag", []string{"-frobnicate"}, []string{"flag provided but not defined", "-frobnicate"}},
		{"stray argument", []string{"train"}, []string{"unknown command or argument", `"train"`}},
		{"missing config", []string{"-config", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"bad layer", []string{"-config", badYAML}, []string{"bad.yaml", "layers[0]", "conv3d"}},
		{"bad set", []string{"-set", "stages.base.train.epochs=-1"}, []string{"train.epochs"}},
		{"set without value", []string{"-set", "run.seed"}, []string{"run.seed"}},
		{"bad progress", []string{"-progress", "loud"}, []string{"progress", "loud"}},
		{"eval without model", []string{"eval"}, []string{"-model"}},
		{"predict without images", []string{"predict", "-model", dir}, []string{"image"}},
		{"predict bad top", []string{"predict", "-model", dir, "-top", "0", "x.png"}, []string{"-top"}},
		{"preview bad n", []string{"preview", "-n", "0"}, []string{"-n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			if got := exitCode(err); got != exitUsage {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing data", []string{"-data", filepath.Join(dir, "nodata"), "-out", filepath.Join(dir, "run")}, "nodata"},
		{"eval missing model", []string{"eval", "-model", filepath.Join(dir, "nomodel")}, "nomodel"},
		{"predict missing model", []string{"predict", "-model", filepath.Join(dir, "nomodel"), "x.png"}, "nomodel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			if got := exitCode(err); got != exitFailure {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitFailure)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Errorf("a run without data left its run dir behind (stat: %v)", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "TensorFlow 2.21.0") {
		t.Errorf("version printed %q", out.String())
	}
	err := run(context.Background(), []string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) || exitCode(err) != exitOK {
		t.Errorf("-h: err %v, exit %d", err, exitCode(err))
	}
}
