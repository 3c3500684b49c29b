package libtf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// tfLines are bits of the lines TensorFlow logs while loading (absl's
// warning, the oneDNN notice) and when it first runs a session (CPU
// features, MLIR).
var tfLines = []string{"absl::InitializeLog", "oneDNN", "cpu_feature_guard", "mlir_graph_optimization_pass"}

// TestLogHelper is the child process of TestLog: it runs a session, writes
// a line to stderr and reports whether the log is shown.
func TestLogHelper(t *testing.T) {
	if os.Getenv("TFCIFAR_LOG_HELPER") != "1" {
		t.Skip("child process of TestLog")
	}
	s := op.NewScope()
	sum := op.Add(s, op.Const(s.SubScope("a"), float32(1)), op.Const(s.SubScope("b"), float32(2)))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Run(nil, []tf.Output{sum}, nil); err != nil {
		t.Fatal(err)
	}
	shown, err := LogShown()
	fmt.Fprintf(os.Stderr, "helper stderr: shown %v, err %v\n", shown, err)
}

func TestLog(t *testing.T) {
	tests := []struct {
		desc  string
		env   []string
		shown bool
	}{
		{"default", nil, false},
		{"TF_CPP_MIN_LOG_LEVEL=0 alone", []string{"TF_CPP_MIN_LOG_LEVEL=0", "TF_CPP_MAX_VLOG_LEVEL=1"}, false},
		{"TFCIFAR_TF_LOG=0", []string{LogEnv + "=0"}, false},
		{"TFCIFAR_TF_LOG=1", []string{LogEnv + "=1", "TF_CPP_MIN_LOG_LEVEL=0"}, true},
		{"TFCIFAR_TF_LOG=true", []string{LogEnv + "=true", "TF_CPP_MIN_LOG_LEVEL=0"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLogHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "TFCIFAR_LOG_HELPER=1", LogEnv+"=", "TF_CPP_MIN_LOG_LEVEL=", "TF_CPP_MAX_VLOG_LEVEL=")
			cmd.Env = append(cmd.Env, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
			}
			want := fmt.Sprintf("helper stderr: shown %v, err <nil>", tc.shown)
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
			for _, line := range tfLines {
				if !tc.shown && strings.Contains(stderr.String(), line) {
					t.Errorf("stderr holds TensorFlow's %q line:\n%s", line, stderr.String())
				}
			}
			if tc.shown && (!strings.Contains(stderr.String(), "absl::InitializeLog") || !strings.Contains(stderr.String(), "mlir")) {
				t.Errorf("stderr lacks TensorFlow's start-up and session lines:\n%s", stderr.String())
			}
		})
	}
}

func TestLogShownBadValue(t *testing.T) {
	t.Setenv(LogEnv, "yes")
	if _, err := LogShown(); err == nil || !strings.Contains(err.Error(), LogEnv+`="yes"`) {
		t.Errorf("got %v, want an error naming %s", err, LogEnv)
	}
}
