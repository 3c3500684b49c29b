package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/treetest"
)

// tinyStages replaces the stages by one tiny network on two classes, one
// epoch, so that a whole run takes about a second.
const tinyStages = "stages=[{name: base, classes: [0, 1], model: {input: [32, 32, 3], layers: [" +
	"{type: conv2d, filters: 2, kernel: 3, strides: 4}, {type: flatten}, {type: dense, units: 2, activation: softmax}]}, train: {epochs: 1}}]"

// tinyConfig is a tiny one-stage config on a 100-image fixture, into a
// fresh run dir unless sets give run.out.
func tinyConfig(t *testing.T, data string, sets ...string) *config.Config {
	t.Helper()
	return smallConfig(t, data, append([]string{tinyStages}, sets...)...)
}

// TestExportVersionThroughRun checks that export.version N puts the export
// in <export.dir>/N/ (once, not N/N/) and that reuse_existing finds it there.
func TestExportVersionThroughRun(t *testing.T) {
	data := fixture(t, 100)
	cfg := tinyConfig(t, data, "stages.base.export.version=3")
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cfg.Run.Out, "base", "model", "3")
	if rep.Stages[0].Export != want {
		t.Errorf("export = %s, want %s", rep.Stages[0].Export, want)
	}
	if _, err := os.Stat(filepath.Join(want, "saved_model.pb")); err != nil {
		t.Errorf("no export in %s: %v", want, err)
	}
	if es, _ := os.ReadDir(filepath.Dir(want)); len(es) != 1 || es[0].Name() != "3" {
		t.Errorf("%s holds %v, want only the version dir 3", filepath.Dir(want), es)
	}
	again := tinyConfig(t, data, "run.out="+cfg.Run.Out, "stages.base.export.version=3", "stages.base.export.reuse_existing=true")
	var out bytes.Buffer
	rep, err = Run(context.Background(), again, Options{Out: &out, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Stages[0].Reused || rep.Stages[0].Export != want {
		t.Errorf("second run: reused %v, export %s; want the export in %s reused\n%s", rep.Stages[0].Reused, rep.Stages[0].Export, want, out.String())
	}
}

// TestRunDirLocked checks that a run into a run dir another run holds
// fails at once, naming that run's PID, and leaves the dir alone.
func TestRunDirLocked(t *testing.T) {
	cfg := tinyConfig(t, fixture(t, 100))
	held, err := lockRunDir(cfg.Run.Out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg, Options{})
	want := fmt.Sprintf("run dir %s is in use by another tfcifar run (pid %d)", cfg.Run.Out, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run into a locked run dir: err = %v, want one containing %q", err, want)
	}
	if es, _ := os.ReadDir(cfg.Run.Out); len(es) != 1 || es[0].Name() != config.LockFile {
		t.Errorf("the refused run wrote into the run dir: %v", es)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("Run after the other run released the dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Run.Out, config.LockFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a finished run left its lock file (stat: %v)", err)
	}
}

// TestFinishedRunKept checks that a finished run is replaced only with
// Overwrite (or continued with Resume).
func TestFinishedRunKept(t *testing.T) {
	data := fixture(t, 100)
	cfg := tinyConfig(t, data)
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(cfg.Run.Out, config.ReportJSON)
	before, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	again := tinyConfig(t, data, "run.out="+cfg.Run.Out, "run.seed=7")
	_, err = Run(context.Background(), again, Options{})
	if !errors.Is(err, ErrFinished) || !strings.Contains(err.Error(), cfg.Run.Out) || !strings.Contains(err.Error(), "-overwrite") {
		t.Fatalf("second run into a finished run dir: err = %v, want ErrFinished naming the dir and -overwrite", err)
	}
	if after, _ := os.ReadFile(report); !bytes.Equal(before, after) {
		t.Error("the refused run changed report.json")
	}
	if _, err := Run(context.Background(), cfg, Options{Resume: true}); err != nil {
		t.Errorf("resume of a finished run: %v", err)
	}
	rep, err := Run(context.Background(), again, Options{Overwrite: true})
	if err != nil {
		t.Fatalf("-overwrite: %v", err)
	}
	if rep.Seed != 7 {
		t.Errorf("overwritten report has seed %d, want 7", rep.Seed)
	}
}

// TestForeignRunDir checks that a run never writes into a directory that
// holds files and is not a tfcifar run dir.
func TestForeignRunDir(t *testing.T) {
	data := fixture(t, 100)
	for name, files := range map[string][]string{
		"user files":       {"notes.txt"},
		"user config.yaml": {"config.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Run(context.Background(), tinyConfig(t, data, "run.out="+dir), Options{Overwrite: true})
			if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("err = %v, want a refusal naming %s", err, dir)
			}
			es, _ := os.ReadDir(dir)
			if len(es) != len(files) {
				t.Errorf("the refused run left %v", es)
			}
			for _, f := range files {
				if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != "mine" {
					t.Errorf("%s was changed to %q", f, b)
				}
			}
		})
	}
}

// TestExportTargetRefusedBeforeTraining checks that an export.dir holding
// files tfcifar did not write stops the run before any training, with the
// files intact.
func TestExportTargetRefusedBeforeTraining(t *testing.T) {
	target := filepath.Join(t.TempDir(), "mine")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "thesis.tex"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t, fixture(t, 100), "stages.base.export.dir="+target)
	_, err := Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), "thesis.tex") {
		t.Fatalf("err = %v, want a refusal naming %s and thesis.tex", err, target)
	}
	if _, err := os.Stat(filepath.Join(cfg.Run.Out, "base", "history.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stage was trained before the refusal (stat history.json: %v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "thesis.tex")); string(b) != "mine" {
		t.Errorf("thesis.tex holds %q", b)
	}
}

// TestLeftoversRemoved plays what kills leave in a run dir and checks that
// the next run removes tfcifar's temporary names, keeps everything else,
// and itself leaves no temporary name, with normal modes everywhere.
func TestLeftoversRemoved(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	data := fixture(t, 100)
	cfg := tinyConfig(t, data)
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(cfg.Run.Out, "base")
	for _, d := range []string{".checkpoint-123", ".model.tmp-456"} {
		if err := os.MkdirAll(filepath.Join(stage, d, "variables"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(cfg.Run.Out, ".config.yaml.1"), filepath.Join(cfg.Run.Out, ".report.json.2"),
		filepath.Join(stage, ".history.json.3"), filepath.Join(stage, ".history.png.4"),
		filepath.Join(stage, ".classes.txt.5"), filepath.Join(stage, ".confusion.png.6"),
		filepath.Join(stage, "notes.txt"), filepath.Join(cfg.Run.Out, ".keep")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Run(context.Background(), cfg, Options{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	var hidden []string
	err := filepath.WalkDir(cfg.Run.Out, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != cfg.Run.Out {
			hidden = append(hidden, strings.TrimPrefix(path, cfg.Run.Out+"/"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	treetest.CheckModes(t, cfg.Run.Out)
	if strings.Join(hidden, ",") != ".keep" {
		t.Errorf("hidden names left in the run dir: %v, want only the user's .keep", hidden)
	}
	if _, err := os.Stat(filepath.Join(stage, "notes.txt")); err != nil {
		t.Errorf("a user file in the stage dir was removed: %v", err)
	}
}

// TestLockFileLink checks that a lock file planted as a link is refused and
// its target left alone (the lock file is truncated once locked).
func TestLockFileLink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	target := filepath.Join(t.TempDir(), "precious")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, config.LockFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := lockRunDir(dir); err == nil {
		t.Error("a lock file that is a link was accepted")
	}
	if b, _ := os.ReadFile(target); string(b) != "mine" {
		t.Errorf("the link's target holds %q", b)
	}
}
