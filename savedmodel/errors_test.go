package savedmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"

	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tftest"
)

// wantErr fails unless err mentions every part of want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// entries lists the names in dir, sorted.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func without(values map[string]*tf.Tensor, name string) map[string]*tf.Tensor {
	v := map[string]*tf.Tensor{}
	for k, t := range values {
		if k != name {
			v[k] = t
		}
	}
	return v
}

func with(values map[string]*tf.Tensor, name string, t *tf.Tensor) map[string]*tf.Tensor {
	v := without(values, name)
	v[name] = t
	return v
}

func TestExportErrors(t *testing.T) {
	net := smallNet(3)
	values := initialValues(t, net, 1)
	empty := config.Network{Input: []int{32, 32, 3}}
	tests := []struct {
		desc   string
		net    *config.Network // nil: net
		dir    string
		values map[string]*tf.Tensor
		opt    Options
		want   []string
	}{
		{"no directory", nil, "", values, Options{}, []string{"no directory"}},
		{"missing value", nil, "m", without(values, "dense/kernel"), Options{}, []string{`variable "dense/kernel" has no value`}},
		{"extra value", nil, "m", with(values, "dense_9/bias", tftest.Tensor(t, []float32{1})), Options{}, []string{`value "dense_9/bias" matches no variable`}},
		{"shape mismatch", nil, "m", with(values, "dense/bias", tftest.Tensor(t, []float32{1, 2})), Options{}, []string{`"dense/bias": value of shape [2], want [3]`}},
		{"wrong type", nil, "m", with(values, "dense/bias", tftest.Tensor(t, []int32{1, 2, 3})), Options{}, []string{`"dense/bias": value of type`}},
		{"class names", nil, "m", values, Options{Classes: []string{"a", "b"}}, []string{"2 class names given, the network has 3 outputs"}},
		{"network without layers", &empty, "m", values, Options{}, []string{"graph:"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			parent := t.TempDir()
			dir := tc.dir
			if dir != "" {
				dir = filepath.Join(parent, dir)
			}
			n := net
			if tc.net != nil {
				n = *tc.net
			}
			_, err := ExportNetwork(dir, n, tc.values, tc.opt)
			wantErr(t, err, tc.want...)
			if left := entries(t, parent); len(left) > 0 {
				t.Errorf("failed export left %v", left)
			}
		})
	}
}

// TestExportFailureKeepsOld injects a failure at each stage of writing and
// checks that the export already at the target is untouched and that no
// temporary directory is left.
func TestExportFailureKeepsOld(t *testing.T) {
	net := smallNet(3)
	values := initialValues(t, net, 1)
	for _, stage := range []string{"variables", "graph", "assets", "rename"} {
		t.Run(stage, func(t *testing.T) {
			parent := t.TempDir()
			dir, err := ExportNetwork(filepath.Join(parent, "m"), net, values, Options{Classes: []string{"a", "b", "c"}})
			if err != nil {
				t.Fatal(err)
			}
			injected := errors.New("injected failure")
			step = func(s string) error {
				if s == stage {
					return injected
				}
				return nil
			}
			defer func() { step = func(string) error { return nil } }()
			_, err = ExportNetwork(dir, net, values, Options{Classes: []string{"x", "y", "z"}})
			if !errors.Is(err, injected) {
				t.Fatalf("Export error = %v, want the injected failure", err)
			}
			if left := entries(t, parent); !slices.Equal(left, []string{"m"}) {
				t.Errorf("after the failure %s holds %v, want only m", parent, left)
			}
			meta, err := ReadMeta(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(meta.Classes, []string{"a", "b", "c"}) {
				t.Errorf("old export has classes %v after a failed replace, want [a b c]", meta.Classes)
			}
		})
	}
}

func TestExportReplaces(t *testing.T) {
	net := smallNet(3)
	values := initialValues(t, net, 1)
	parent := t.TempDir()
	for _, classes := range [][]string{{"a", "b", "c"}, {"x", "y", "z"}} {
		dir, err := ExportNetwork(filepath.Join(parent, "m", "2"), net, values, Options{Classes: classes})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(context.Background(), dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if !slices.Equal(m.Classes, classes) {
			t.Errorf("classes = %v, want %v", m.Classes, classes)
		}
	}
	if left := entries(t, filepath.Join(parent, "m")); !slices.Equal(left, []string{"2"}) {
		t.Errorf("export dir holds %v, want only version 2", left)
	}
	if left := entries(t, filepath.Join(parent, "m", "2")); !slices.Equal(left, []string{"assets", "fingerprint.pb", "saved_model.pb", "variables"}) {
		t.Errorf("export holds %v", left)
	}
}

// export writes smallNet(3) into a temp dir and returns the dir.
func export(t *testing.T) (string, map[string]*tf.Tensor) {
	t.Helper()
	values := initialValues(t, smallNet(3), 1)
	dir, err := ExportNetwork(filepath.Join(t.TempDir(), "m"), smallNet(3), values, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, values
}

// broken returns a fresh export changed by edit.
func broken(t *testing.T, edit func(dir string) error) string {
	t.Helper()
	dir, _ := export(t)
	if err := edit(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeNetwork(net config.Network) func(string) error {
	return func(dir string) error {
		b, err := net.YAML()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "assets", networkAsset), b, 0o644)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		desc string
		dir  func(t *testing.T) string
		want []string
	}{
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, []string{"none does not exist"}},
		{"not a SavedModel", func(t *testing.T) string { return t.TempDir() }, []string{"no saved_model.pb"}},
		{"not a tfcifar export", func(t *testing.T) string {
			return broken(t, func(d string) error { return os.RemoveAll(filepath.Join(d, "assets")) })
		}, []string{"not a tfcifar export", "network.yaml"}},
		{"flat input", func(t *testing.T) string {
			return broken(t, func(d string) error {
				flat := "input: [64]\nlayers: [{type: dense, units: 3}]\n"
				return os.WriteFile(filepath.Join(d, "assets", networkAsset), []byte(flat), 0o644)
			})
		}, []string{"network.yaml", "input [64] is not an image"}},
		{"corrupt proto", func(t *testing.T) string {
			return broken(t, func(d string) error {
				return os.WriteFile(filepath.Join(d, "saved_model.pb"), []byte("\x0a\xffnot a proto"), 0o644)
			})
		}, []string{"saved_model.pb is corrupt"}},
		{"no serve graph", func(t *testing.T) string {
			return broken(t, func(d string) error {
				b, err := proto.Marshal(&pb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*pb.MetaGraphDef{{}}})
				if err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(d, "saved_model.pb"), b, 0o644)
			})
		}, []string{`saved_model.pb has no graph tagged "serve"`}},
		{"missing variables", func(t *testing.T) string {
			return broken(t, func(d string) error { return os.Remove(filepath.Join(d, "variables", "variables.data-00000-of-00001")) })
		}, []string{"load"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := tc.dir(t)
			m, err := Load(context.Background(), dir, LoadOptions{})
			if err == nil {
				m.Close()
			}
			wantErr(t, err, append(tc.want, dir)...)
			t.Log(err)
		})
	}
}

func TestPredictErrors(t *testing.T) {
	dir, _ := export(t)
	m, err := Load(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, _, err = m.Predict(make([]float32, 100), 1)
	wantErr(t, err, "predict: 100 values for 1 images", "want 3072")
	_, _, err = m.Logits(make([]float32, 100), 1)
	wantErr(t, err, "logits: 100 values for 1 images", "want 3072")
}

func TestReadVariables(t *testing.T) {
	dir, values := export(t)
	read, err := ReadVariables(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta, got := read.Meta, read.Weights
	net, classes := meta.Network, meta.Classes
	if len(net.Layers) != len(smallNet(3).Layers) || !slices.Equal(classes, []string{"0", "1", "2"}) {
		t.Errorf("network of %d layers, classes %v; want %d layers, [0 1 2]", len(net.Layers), classes, len(smallNet(3).Layers))
	}
	if len(got) != len(values) {
		t.Errorf("%d variables read, want %d", len(got), len(values))
	}
	for name, want := range values {
		g, ok := got[name]
		if !ok {
			t.Errorf("variable %q not read", name)
			continue
		}
		if !slices.Equal(g.Shape(), want.Shape()) || maxDiff(flat(g), flat(want)) != 0 {
			t.Errorf("variable %q: read %v %v, want %v %v", name, g.Shape(), flat(g)[:1], want.Shape(), flat(want)[:1])
		}
	}
}

func flat(t *tf.Tensor) []float32 {
	var b bytes.Buffer
	if _, err := t.WriteContentsTo(&b); err != nil {
		panic(err)
	}
	out := make([]float32, b.Len()/4)
	if err := binary.Read(&b, binary.LittleEndian, out); err != nil {
		panic(err)
	}
	return out
}

func TestReadVariablesErrors(t *testing.T) {
	bigKernel := smallNet(3) // same output shapes, only conv2d/kernel differs
	bigKernel.Layers[0].Kernel = config.Size{5, 5}
	wider := smallNet(3)
	wider.Layers = slices.Insert(slices.Clone(wider.Layers), 5, config.Layer{Type: "dense", Units: 3})
	tests := []struct {
		desc string
		dir  func(t *testing.T) string
		want []string
	}{
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, []string{"none does not exist"}},
		{"not a tfcifar export", func(t *testing.T) string {
			return broken(t, func(d string) error { return os.Remove(filepath.Join(d, "assets", networkAsset)) })
		}, []string{"not a tfcifar export"}},
		{"no variables", func(t *testing.T) string {
			return broken(t, func(d string) error { return os.RemoveAll(filepath.Join(d, "variables")) })
		}, []string{"has no variables"}},
		{"missing variable", func(t *testing.T) string { return broken(t, writeNetwork(wider)) },
			[]string{"read variables of", "dense_1/bias/.ATTRIBUTES/VARIABLE_VALUE not found"}},
		{"shape mismatch", func(t *testing.T) string { return broken(t, writeNetwork(bigKernel)) },
			[]string{"read variables of", `variable "conv2d/kernel"`, "[3,3,3,4]", "[5,5,3,4]"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := tc.dir(t)
			_, err := ReadVariables(dir, LoadOptions{})
			wantErr(t, err, append(tc.want, dir)...)
			t.Log(err)
		})
	}
}

// TestReadMetaWithoutScale reads an export older than the scale record.
func TestReadMetaWithoutScale(t *testing.T) {
	dir := broken(t, func(d string) error { return os.Remove(filepath.Join(d, "assets", scaleAsset)) })
	m, err := ReadMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Scale != 0 {
		t.Errorf("Scale = %v without assets/scale.txt, want 0", m.Scale)
	}
}
