package transfer

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/train"
)

// TestPrepareSpill checks that features cached in a temporary file
// (SpillDir) fill the same bits as cached in memory, for the train and
// validation sources at several orders, that nothing is ever left in
// SpillDir and that the sources fail once the Setup is closed.
func TestPrepareSpill(t *testing.T) {
	sets := []*cifar.Set{noise(70, 1), noise(23, 2)}
	mem := prepare(t, sets, "")
	defer mem.Close()
	dir := t.TempDir()
	file := prepare(t, sets, dir)
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after Prepare SpillDir holds %v (%v), want nothing", entries, err)
	}
	// In memory, the packed rows and 24 bytes locating each example.
	fileMem, fileDisk := file.CacheBytes()
	memMem, memDisk := mem.CacheBytes()
	if rows := int64(24 * (sets[0].Len() + sets[1].Len())); memDisk != 0 || fileDisk == 0 || fileDisk != memMem-rows {
		t.Errorf("CacheBytes: %d and %d in a file, %d in memory; want %d and %d", memDisk, fileDisk, memMem, 0, memMem-rows)
	}
	if fileMem >= memMem+2*(64<<10+4*int64(file.Train.Width())) {
		t.Errorf("CacheBytes: %d in memory beside a file, want at most the buffers more than %d", fileMem, memMem)
	}
	for i, pair := range [][2]train.Dataset{{mem.Train, file.Train}, {mem.Val, file.Val}} {
		n := pair[0].Len()
		if pair[1].Len() != n || pair[1].Width() != pair[0].Width() || n != sets[i].Len() {
			t.Fatalf("set %d: %d examples of %d values in a file, want %d of %d", i, pair[1].Len(), pair[1].Width(), sets[i].Len(), pair[0].Width())
		}
		idx := rand.New(rand.NewPCG(uint64(i), 3)).Perm(n)
		want, got := fill(t, pair[0], idx), fill(t, pair[1], idx)
		if !slices.Equal(got, want) {
			t.Errorf("set %d: features cached in a file differ from those in memory", i)
		}
		if slices.Max(want) == 0 {
			t.Errorf("set %d: all cached features are 0; the test needs some", i)
		}
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after Close SpillDir holds %v (%v), want nothing", entries, err)
	}
	if err := file.Train.FillTo([]int{0}, make([]float32, file.Train.Width()), make([]float32, 3)); err == nil {
		t.Error("the train source filled a batch after Close")
	}
}

// prepare caches the outputs of a frozen conv2d (4 filters of 3x3 with
// strides of 8 and ReLU) and flatten over sets, with a dense head, in dir.
func prepare(t *testing.T, sets []*cifar.Set, dir string) *Setup {
	t.Helper()
	net := config.Network{Input: []int{32, 32, 3}, Layers: []config.Layer{
		{Type: "conv2d", Filters: 4, Kernel: config.Size{3, 3}, Strides: config.Size{8, 8}, Activation: "relu", Reused: true, Frozen: true},
		{Type: "flatten", Reused: true, Frozen: true},
		{Type: "dense", Units: 3},
	}}.Named()
	g := tf.NewGraph()
	m, err := graph.Build(op.NewScopeWithGraph(g), net, graph.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	init := graph.Weights{}
	r := rand.New(rand.NewPCG(9, 9))
	for _, v := range m.Variables {
		if v.Layer != net.Layers[0].Name {
			continue
		}
		n := 1
		for _, d := range v.Shape {
			n *= int(d)
		}
		vals := make([]float32, n)
		for j := range vals {
			vals[j] = float32(r.NormFloat64()) * 0.01
		}
		tt, err := tf.NewTensor(vals)
		if err == nil {
			err = tt.Reshape(v.Shape)
		}
		if err != nil {
			t.Fatal(err)
		}
		init[v.Name] = tt
	}
	in := Input{Run: config.Run{Seed: 5, IntraOpThreads: 1, InterOpThreads: 1, Device: "cpu"},
		Net: net, Graph: g, Model: m, Seed: 5, Init: init, Cached: net.Cacheable(), Scale: 1.0 / 255,
		SpillDir: dir, Train: sets[0], Val: sets[1]}
	if in.Cached != 2 {
		t.Fatalf("%d cacheable layers, want 2", in.Cached)
	}
	su, err := Prepare(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return su
}

// fill returns the bits of the examples of d at idx.
func fill(t *testing.T, d train.Dataset, idx []int) []uint32 {
	img, lab := make([]float32, len(idx)*d.Width()), make([]float32, len(idx)*d.NumClasses())
	if err := d.FillTo(idx, img, lab); err != nil {
		t.Fatal(err)
	}
	out := make([]uint32, len(img))
	for i, v := range img {
		out[i] = math.Float32bits(v)
	}
	return out
}

// noise returns n random images in 3 classes.
func noise(n int, seed uint64) *cifar.Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &cifar.Set{Images: make([]byte, n*cifar.ImageSize), Labels: make([]uint8, n), Classes: []string{"a", "b", "c"}}
	for i := range s.Images {
		s.Images[i] = byte(r.IntN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(i % 3)
	}
	return s
}
