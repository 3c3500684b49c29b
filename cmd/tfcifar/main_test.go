package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/libtf"
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
		{"unknown flag", []string{"-frobnicate"}, []string{"unknown flag -frobnicate", "see tfcifar -h"}},
		{"misspelled flag", []string{"eval", "-modle", dir}, []string{"eval: unknown flag -modle; did you mean -model?"}},
		{"flag of a command before it", []string{"-model", dir, "eval"}, []string{"-model: it is a flag of tfcifar eval, tfcifar predict, not of tfcifar"}},
		{"workflow flag before a command", []string{"-out", dir, "eval", "-model", dir}, []string{"eval: unknown flag -out: it is a flag of tfcifar, not of tfcifar eval"}},
		{"bad flag value", []string{"predict", "-top", "x", "-model", dir, "a.png"}, []string{"predict: invalid value", "-top", "see tfcifar predict -h"}},
		{"stray argument", []string{"train"}, []string{"unknown command or argument", `"train"`}},
		{"misspelled command", []string{"evl", "-model", dir}, []string{`"evl"`, "did you mean eval?"}},
		{"help of an unknown command", []string{"help", "predcit"}, []string{`"predcit"`, "did you mean predict?"}},
		{"version with an argument", []string{"version", "x"}, []string{"version", `"x"`}},
		{"import without a model", []string{"import"}, []string{"import: want one Keras model"}},
		{"missing config", []string{"-config", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"bad layer", []string{"-config", badYAML}, []string{"bad.yaml", "layers[0]", "conv3d"}},
		{"bad set", []string{"-set", "stages.base.train.epochs=-1"}, []string{"train.epochs"}},
		{"set without value", []string{"-set", "run.seed"}, []string{"run.seed"}},
		{"bad progress", []string{"-progress", "loud"}, []string{"progress", "loud"}},
		{"eval without model", []string{"eval"}, []string{"-model"}},
		{"eval bad split", []string{"eval", "-model", dir, "-split", "tst"}, []string{`-split "tst"`, "train, val, test", "did you mean test?"}},
		{"eval split in capitals", []string{"eval", "-model", dir, "-split", "VAL"}, []string{`-split "VAL"`, "did you mean val?"}},
		{"eval stray argument", []string{"eval", "-model", dir, "x"}, []string{`unexpected argument "x"`}},
		{"predict without images", []string{"predict", "-model", dir}, []string{"image"}},
		{"predict bad top", []string{"predict", "-model", dir, "-top", "0", "x.png"}, []string{"-top"}},
		{"predict bad top after the images", []string{"predict", "-model", dir, "x.png", "-top", "0"}, []string{"-top 0"}},
		{"predict NaN scale", []string{"predict", "-model", dir, "-scale", "NaN", "x.png"}, []string{"-scale NaN"}},
		{"preview bad n", []string{"preview", "-n", "0"}, []string{"-n"}},
		{"preview huge n", []string{"preview", "-n", "50000"}, []string{"-n 50000", "1 to 1000"}},
		{"preview huge cols", []string{"preview", "-cols", "5000"}, []string{"-cols 5000", "1 to 100"}},
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
		{"import missing model", []string{"import", filepath.Join(dir, "nomodel.keras")}, "nomodel.keras"},
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
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got := out.String(); !strings.HasPrefix(got, "tfcifar ") || !strings.Contains(got, "TensorFlow 2.21.0") {
			t.Errorf("%v printed %q, want tfcifar's and TensorFlow's versions", args, got)
		}
		if got, want := out.String(), wantBuildLines(); !strings.Contains(got, want[0]) || !strings.Contains(got, "\n"+want[1]) {
			t.Errorf("%v printed %q, want the build %q and GPUs %q", args, got, want[0], want[1])
		}
	}
	tests := []struct {
		args []string
		want string // in the usage printed
	}{
		{[]string{"-h"}, "usage: tfcifar [-config FILE]"},
		{[]string{"--help"}, "tfcifar eval -model DIR"},
		{[]string{"help"}, "tfcifar help [COMMAND]"},
		{[]string{"help", "eval"}, "usage: tfcifar eval -model DIR"},
		{[]string{"eval", "-h"}, "-split"},
		{[]string{"predict", "-model", "m", "x.png", "-h"}, "usage: tfcifar predict"},
		{[]string{"-data", "d", "preview", "-h"}, "usage: tfcifar preview"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out)
		if exitCode(err) != exitOK || (err != nil && !errors.Is(err, flag.ErrHelp)) {
			t.Errorf("%v: err %v, exit %d", tc.args, err, exitCode(err))
		}
		if !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "-tf-log") {
			t.Errorf("%v printed %q, want the usage with %q and -tf-log", tc.args, out.String(), tc.want)
		}
	}
}

// wantBuildLines returns what version says of the build and of the GPUs on
// this machine: the CPU build in the default tests, the CUDA build without
// a driver under make test GPU=1 on a machine without a GPU.
func wantBuildLines() [2]string {
	if os.Getenv("TFCIFAR_GPU_BUILD") == "1" {
		return [2]string{"TensorFlow 2.21.0 (CUDA build)", "GPUs: none visible: the NVIDIA driver library libcuda.so.1 is not found"}
	}
	return [2]string{"TensorFlow 2.21.0 (CPU build)", "GPUs: none (the CPU build of libtensorflow"}
}

func TestBadLogVariable(t *testing.T) {
	t.Setenv(libtf.LogEnv, "yes")
	err := run(context.Background(), []string{"version"}, &bytes.Buffer{})
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), libtf.LogEnv) {
		t.Errorf("got %v (exit %d), want a usage error naming %s", err, exitCode(err), libtf.LogEnv)
	}
}

// tfLines are bits of TensorFlow's own log lines: absl's start-up warning,
// the oneDNN notice, the CPU-feature and MLIR lines of a first session and
// the SavedModel loader's lines.
var tfLines = []string{"absl::InitializeLog", "oneDNN", "cpu_feature_guard", "mlir_graph_optimization_pass",
	"Reading SavedModel", "loader.cc"}

// binary builds tfcifar into a temporary directory once per test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tfcifar-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tfcifar")
	// With the VCS commit if the checkout allows it (GOFLAGS may say not to).
	if exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").Run() == nil {
		return bin, nil
	}
	out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := binary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// result is what a run of the binary printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs the built tfcifar with args in dir, with the environment
// cleared of TensorFlow's and tfcifar's log settings and extra added.
func runBinary(t *testing.T, dir string, extra []string, args ...string) result {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_CPP_") && !strings.HasPrefix(kv, libtf.LogEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// noTFLines fails the test if stderr holds a TensorFlow log line.
func noTFLines(t *testing.T, what string, r result) {
	t.Helper()
	for _, l := range tfLines {
		if strings.Contains(r.stderr, l) {
			t.Errorf("%s: stderr holds TensorFlow's %q line:\n%s", what, l, r.stderr)
		}
	}
}

// TestBinary runs the built tfcifar: a tiny training run, eval and
// predict on its export, and the command line's messages and exit codes.
// TensorFlow's log lines must appear only when asked for.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	data := cifartest.Write(t, 60, 20)
	cfg := filepath.Join(dir, "tiny.yaml")
	yaml := fmt.Sprintf(`data: {dir: %q, download: false}
run: {out: run, progress: off}
stages:
  - name: base
    classes: [0, 1]
    model:
      input: [32, 32, 3]
      layers:
        - {type: flatten}
        - {type: dense, units: 2}
        - {type: activation, activation: softmax}
    train: {epochs: 1, batch_size: 4}
`, data)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	v := runBinary(t, dir, nil, "version")
	if v.code != 0 || v.stderr != "" || !strings.HasPrefix(v.stdout, "tfcifar ") || !strings.Contains(v.stdout, "TensorFlow 2.21.0") {
		t.Errorf("version: exit %d, stdout %q, stderr %q", v.code, v.stdout, v.stderr)
	}
	bin, _ := binary()
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, rev, ok := strings.Cut(string(info), "vcs.revision="); ok {
		if want := "commit " + rev[:12]; !strings.Contains(v.stdout, want) {
			t.Errorf("version printed %q, want %q", v.stdout, want)
		}
	} else {
		t.Logf("binary built without VCS information; version printed %q", v.stdout)
	}

	train := runBinary(t, dir, nil, "-config", cfg)
	if train.code != 0 {
		t.Fatalf("training run: exit %d\n%s\n%s", train.code, train.stdout, train.stderr)
	}
	noTFLines(t, "training run", train)
	model := filepath.Join(dir, "run", "base", "model")

	ok := []struct {
		desc string
		env  []string
		args []string
		want string // in stdout
	}{
		{"eval, config flags before the command", nil,
			[]string{"-config", cfg, "-data", data, "eval", "-model", model}, "accuracy"},
		{"predict, flags after the image", nil,
			[]string{"predict", "-model", model, "x.png", "-top", "1"}, "x.png\n"},
		{"predict, TF_CPP_MIN_LOG_LEVEL=0 alone", []string{"TF_CPP_MIN_LOG_LEVEL=0"},
			[]string{"predict", "-model", model, "x.png"}, "x.png\n"},
	}
	for _, tc := range ok {
		r := runBinary(t, dir, tc.env, tc.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, want %q; stderr:\n%s", tc.desc, r.code, r.stdout, tc.want, r.stderr)
		}
		noTFLines(t, tc.desc, r)
	}
	if r := runBinary(t, dir, nil, "predict", "-model", model, "x.png", "-top", "1"); strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("predict -top 1 after the image printed %q, want the file and one class", r.stdout)
	}

	shown := []struct {
		desc string
		env  []string
		args []string
	}{
		{"TFCIFAR_TF_LOG=1", []string{"TFCIFAR_TF_LOG=1", "TF_CPP_MIN_LOG_LEVEL=0"}, []string{"predict", "-model", model, "x.png"}},
		{"-tf-log", []string{"TF_CPP_MIN_LOG_LEVEL=0"}, []string{"predict", "-model", model, "-tf-log", "x.png"}},
		{"-tf-log before the command", []string{"TF_CPP_MIN_LOG_LEVEL=0"}, []string{"-tf-log", "predict", "-model", model, "x.png"}},
	}
	for _, tc := range shown {
		r := runBinary(t, dir, tc.env, tc.args...)
		if r.code != 0 || !strings.Contains(r.stderr, "absl::InitializeLog") || !strings.Contains(r.stderr, "Reading SavedModel") {
			t.Errorf("%s: exit %d, want TensorFlow's start-up and loader lines in stderr:\n%s", tc.desc, r.code, r.stderr)
		}
	}
	if r := runBinary(t, dir, []string{"TFCIFAR_TF_LOG=1"}, "version"); !strings.Contains(r.stderr, "absl::InitializeLog") {
		t.Errorf("TFCIFAR_TF_LOG=1 version: stderr %q lacks TensorFlow's start-up lines", r.stderr)
	}

	cli := []struct {
		desc   string
		args   []string
		code   int
		stdout string // prefix of stdout
		stderr string // first line of stderr, whole
	}{
		{"-h", []string{"-h"}, 0, "usage: tfcifar", ""},
		{"help", []string{"help"}, 0, "usage: tfcifar", ""},
		{"help eval", []string{"help", "eval"}, 0, "usage: tfcifar eval", ""},
		{"eval -h", []string{"eval", "-h"}, 0, "usage: tfcifar eval", ""},
		{"--version", []string{"--version"}, 0, "tfcifar ", ""},
		{"unknown flag", []string{"-frobnicate"}, 2, "", "tfcifar: unknown flag -frobnicate (see tfcifar -h)"},
		{"misspelled command", []string{"evl"}, 2, "",
			`tfcifar: unknown command or argument "evl" (commands: eval, predict, export, preview, import, worker, version, help); did you mean eval?`},
		{"bad split", []string{"eval", "-model", model, "-split", "tst"}, 2, "",
			`tfcifar: eval: -split "tst": want one of train, val, test; did you mean test?`},
		{"preview -n 50000", []string{"preview", "-config", cfg, "-n", "50000"}, 2, "", "tfcifar: preview: -n 50000: want 1 to 1000 images"},
		{"missing model", []string{"predict", "-model", "nomodel", "x.png"}, 1, "", ""},
	}
	for _, tc := range cli {
		r := runBinary(t, dir, nil, tc.args...)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.stdout) || (tc.code != 1 && first != tc.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q..., stderr %q",
				tc.desc, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
		}
		if strings.Contains(r.stderr, "tfcifar: tfcifar") || strings.Contains(r.stderr, "help requested") {
			t.Errorf("%s: stderr %q", tc.desc, r.stderr)
		}
		noTFLines(t, tc.desc, r)
	}
}
