package libtf

import (
	"os"
	"strconv"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// rssAnon returns the process's anonymous resident memory in bytes.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "RssAnon:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// TestReleaseMemory checks that memory TensorFlow freed after a run, kept
// by the C heap, leaves the process's resident memory on ReleaseMemory.
func TestReleaseMemory(t *testing.T) {
	// 1,600 tensors of 64 KiB (100 MiB), each below the C heap's mmap
	// threshold, alive at once and freed at the end of the run.
	const n, size = 1600, 16 << 10
	s := op.NewScope()
	var parts []tf.Output
	for i := range n {
		parts = append(parts, op.Fill(s.SubScope("fill"), op.Const(s.SubScope("dims"), []int32{size}), op.Const(s.SubScope("v"), float32(i))))
	}
	sum := op.AddN(s, parts)
	total := op.Sum(s, sum, op.Const(s.SubScope("axis"), []int32{0}))
	ReleaseMemory()
	before := rssAnon(t)
	out := run(t, s, nil, total)
	if got, want := out[0].Value().(float32), float32(n*(n-1)/2*size); got != want {
		t.Fatalf("sum %v, want %v", got, want)
	}
	held := rssAnon(t) - before
	ReleaseMemory()
	kept := rssAnon(t) - before
	t.Logf("anonymous memory above the start: %d MiB after the run, %d MiB after ReleaseMemory", held>>20, kept>>20)
	if held < 50<<20 {
		t.Skipf("the run left only %d MiB resident: nothing to release here", held>>20)
	}
	if kept > held/2 {
		t.Errorf("ReleaseMemory kept %d of the %d MiB the run left resident", kept>>20, held>>20)
	}
}
