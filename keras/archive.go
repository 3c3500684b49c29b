package keras

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/capped"
	"github.com/tfcifar/tfcifar/keras/h5"
)

// Limits of a .keras archive. An archive asking for more is refused.
const (
	MaxArchiveBytes = 2 << 30  // bytes of the archive file
	MaxWeightsBytes = 1 << 30  // bytes of model.weights.h5, uncompressed
	maxConfigBytes  = 16 << 20 // bytes of config.json, uncompressed
	maxEntries      = 1 << 12  // entries of the archive
	maxRatio        = 200      // uncompressed / compressed bytes of a large entry
	ratioFloor      = 1 << 20  // entries up to this size may compress better
	totalBytes      = 3 << 30  // declared uncompressed bytes of all entries
	configEntry     = "config.json"
	weightsEntry    = "model.weights.h5"
)

// readArchive reads a Keras 3 archive (model.save("m.keras")).
func readArchive(path string) (Model, error) {
	fh, st, err := capped.Open(path)
	if err != nil {
		return Model{}, err
	}
	defer func() { _ = fh.Close() }() // read only
	if st.Size() > MaxArchiveBytes {
		return Model{}, fmt.Errorf("%s: %s, over the cap of %s", path, capped.Size(st.Size()), capped.Size(MaxArchiveBytes))
	}
	zr, err := zip.NewReader(fh, st.Size())
	if err != nil {
		return Model{}, fmt.Errorf("%s is not a .keras archive (a zip file): %w", path, err)
	}
	entries, err := checkEntries(zr)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg, err := readEntry(entries, configEntry, maxConfigBytes)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	net, keys, name, err := parseNetwork(cfg)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	raw, err := readEntry(entries, weightsEntry, MaxWeightsBytes)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	f, err := h5.NewReader(weightsEntry, bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := adaptedStatistics(f, &net, keys); err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	net, err = validated(net)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	w, err := h5Weights(f, net, keys)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	return Model{Name: name, Network: net, Weights: w}, nil
}

// checkEntries refuses archives with too many entries, or entries whose
// declared sizes or compression ratio are out of bounds, and returns the
// entries by name.
func checkEntries(zr *zip.Reader) (map[string]*zip.File, error) {
	if len(zr.File) > maxEntries {
		return nil, fmt.Errorf("%d entries, over the cap of %d", len(zr.File), maxEntries)
	}
	out := map[string]*zip.File{}
	var total uint64
	for _, e := range zr.File {
		n := e.UncompressedSize64
		total += n
		if n > MaxWeightsBytes || total > totalBytes {
			return nil, fmt.Errorf("entry %q: declares %d bytes, over the cap", e.Name, n)
		}
		if n > ratioFloor && n/max(e.CompressedSize64, 1) > maxRatio {
			return nil, fmt.Errorf("entry %q: compresses %d bytes into %d, over the ratio of %d a model file has (a zip bomb?)", e.Name, n, e.CompressedSize64, maxRatio)
		}
		out[e.Name] = e
	}
	return out, nil
}

// readEntry reads the entry name of at most limit bytes, whatever its
// header declares.
func readEntry(entries map[string]*zip.File, name string, limit int64) ([]byte, error) {
	e := entries[name]
	if e == nil {
		return nil, fmt.Errorf("no %s in the archive; want a Keras 3 archive from model.save(\"model.keras\")", name)
	}
	if e.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, over the cap of %s", name, e.UncompressedSize64, capped.Size(limit))
	}
	r, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer func() { _ = r.Close() }() // read only
	b, err := io.ReadAll(io.LimitReader(r, int64(e.UncompressedSize64)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is the archive truncated?)", name, err)
	}
	if uint64(len(b)) != e.UncompressedSize64 {
		return nil, fmt.Errorf("%s: holds more bytes than its header declares (%d)", name, e.UncompressedSize64)
	}
	return b, nil
}

// validated names the unnamed layers and validates net.
func validated(net config.Network) (config.Network, error) {
	net = net.Named()
	if err := net.Validate(); err != nil {
		return config.Network{}, fmt.Errorf("the mapped network: %w", err)
	}
	return net, nil
}

// h5Weights reads the variables of net's layers from a Keras 3 weights
// file: layers/<key>/vars/<i> (keys[i] for net.Layers[i]), in the order
// tfcifar creates them (kernel, bias; gamma, beta, moving_mean,
// moving_variance), each of the shape tfcifar's variable has; a
// normalization's statistics come from the network. Variables that hold no
// weight (a dropout's seed counter) get their initial value,
// zero.
func h5Weights(f *h5.File, net config.Network, keys []string) (graph.Weights, error) {
	shapes, err := net.Shapes()
	if err != nil {
		return nil, err
	}
	w := graph.Weights{}
	in := net.Input
	for i, l := range net.Layers {
		want := l.Weights(in)
		in = shapes[i]
		if l.Type == config.Normalization { // its statistics are in the config (or were read from it)
			for _, wt := range want {
				v := make([]float32, len(wt.Value))
				for j, x := range wt.Value {
					v[j] = float32(x)
				}
				t, err := tensor(v, wt.Shape)
				if err != nil {
					return nil, err
				}
				w[l.Name+"/"+wt.Name] = t
			}
			continue
		}
		group := "layers/" + keys[i] + "/vars"
		names, err := f.Members(group)
		if err != nil {
			if len(want) == 0 {
				continue
			}
			return nil, fmt.Errorf("layer %q: %w", l.Name, err)
		}
		if len(names) != len(want) {
			return nil, fmt.Errorf("layer %q (%s): %s has %d variables, want %d (%s)", l.Name, l.Type.Keras(), group, len(names), len(want), weightNames(want))
		}
		for k, wt := range want {
			path := group + "/" + strconv.Itoa(k)
			t, err := readTensor(f, path, wt.Shape)
			if err != nil {
				return nil, fmt.Errorf("layer %q (%s) %s: %w", l.Name, l.Type.Keras(), wt.Name, err)
			}
			w[l.Name+"/"+wt.Name] = t
		}
	}
	return w, withState(net, w)
}

// withState adds to w a zero for every variable of net's graph that holds
// no weight (a dropout's seed counter); w then fits the graph exactly.
func withState(net config.Network, w graph.Weights) error {
	m, err := graph.Build(op.NewScope(), net, graph.Options{})
	if err != nil {
		return err
	}
	for _, v := range m.Variables {
		if w[v.Name] != nil {
			continue
		}
		shape := make([]int, len(v.Shape))
		n := 1
		for i, d := range v.Shape {
			shape[i] = int(d)
			n *= int(d)
		}
		t, err := tensor(make([]float32, n), shape)
		if err != nil {
			return err
		}
		w[v.Name] = t
	}
	return w.Check(m.Variables)
}

func weightNames(ws []config.Weight) string {
	var b bytes.Buffer
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w.Name)
	}
	return b.String()
}

// readTensor reads the dataset at path as a float32 tensor of shape want.
func readTensor(f *h5.File, path string, want []int) (*tf.Tensor, error) {
	d, err := f.Dataset(path)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(d.Shape, want) {
		return nil, fmt.Errorf("%s has shape %v, want %v", path, d.Shape, want)
	}
	if d.DType != h5.Float32 {
		return nil, fmt.Errorf("%s holds %s values, want float32", path, d.DType)
	}
	v, err := d.Float32()
	if err != nil {
		return nil, err
	}
	return tensor(v, want)
}

// tensor returns a float32 tensor of shape holding v.
func tensor(v []float32, shape []int) (*tf.Tensor, error) {
	if len(shape) == 0 && len(v) == 1 {
		return tf.NewTensor(v[0])
	}
	t, err := tf.NewTensor(v)
	if err != nil {
		return nil, err
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	if err := t.Reshape(dims); err != nil {
		return nil, err
	}
	return t, nil
}
