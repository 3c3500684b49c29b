package h5

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// entry is what dump_h5.py prints for one object.
type entry struct {
	Attrs  map[string]string `json:"attrs"`
	Shape  []int             `json:"shape,omitempty"`
	Dtype  string            `json:"dtype,omitempty"`
	Values []float64         `json:"values,omitempty"`
}

// TestWriterH5py writes groups (one with more entries than a symbol table
// node holds, one empty, nested ones), datasets of several ranks and
// string attributes, and checks that h5py reads back exactly that.
func TestWriterH5py(t *testing.T) {
	w := NewWriter()
	want := map[string]entry{"/": {Attrs: map[string]string{"title": "weights ü"}}}
	must(t, w.Root().SetString("title", "weights ü"))
	many, err := w.Root().Group("many")
	must(t, err)
	want["many"] = entry{Attrs: map[string]string{}}
	for i := range 3*2*groupLeafK + 1 {
		name := fmt.Sprintf("g%02d", i)
		g, err := many.Group(name)
		must(t, err)
		must(t, g.SetString("name", name))
		values := []float32{float32(i), -1.5, 3e38, 1e-30, 0, float32(i) / 7}
		must(t, g.Float32("x", []int{2, 3}, values))
		want["many/"+name] = entry{Attrs: map[string]string{"name": name}}
		f64 := make([]float64, len(values))
		for j, v := range values {
			f64[j] = float64(v)
		}
		want["many/"+name+"/x"] = entry{Attrs: map[string]string{}, Shape: []int{2, 3}, Dtype: "float32", Values: f64}
	}
	_, err = w.Root().Group("empty")
	must(t, err)
	want["empty"] = entry{Attrs: map[string]string{}}
	deep := w.Root()
	path := ""
	for _, name := range []string{"a", "b", "c"} {
		deep, err = deep.Group(name)
		must(t, err)
		path = strings.TrimPrefix(path+"/"+name, "/")
		want[path] = entry{Attrs: map[string]string{}}
	}
	must(t, deep.Float32("v", []int{1, 2, 1, 2}, []float32{1, 2, 3, 4}))
	want["a/b/c/v"] = entry{Attrs: map[string]string{}, Shape: []int{1, 2, 1, 2}, Dtype: "float32", Values: []float64{1, 2, 3, 4}}

	var b bytes.Buffer
	n, err := w.WriteTo(&b)
	must(t, err)
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
	file := filepath.Join(t.TempDir(), "t.h5")
	must(t, os.WriteFile(file, b.Bytes(), 0o644))
	var got map[string]entry
	if err := json.Unmarshal([]byte(lastLine(pyenv.Run(t, filepath.Join("interop", "dump_h5.py"), file))), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: h5py reads %+v, want %+v", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("h5py reads an unexpected %s", k)
			}
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriterErrors checks what a Writer refuses, and that the message says
// what was expected.
func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	root := w.Root()
	must(t, root.Float32("data", []int{2}, []float32{1, 2}))
	full, err := root.Group("full")
	must(t, err)
	for i := range MaxGroupEntries {
		_, err := full.Group(fmt.Sprint(i))
		must(t, err)
	}
	cases := []struct {
		desc string
		err  error
		want string
	}{
		{"empty name", root.Float32("", []int{1}, []float32{1}), "want a non-empty name"},
		{"slash in name", func() error { _, err := root.Group("a/b"); return err }(), `"a/b": want no '/'`},
		{"long name", root.SetString(strings.Repeat("n", MaxNameBytes+1), "v"), "longer than 1024 bytes"},
		{"group over a dataset", func() error { _, err := root.Group("data"); return err }(), `"data" already exists`},
		{"dataset twice", root.Float32("data", []int{2}, []float32{1, 2}), `"data" already exists`},
		{"values do not fit the shape", root.Float32("x", []int{2, 2}, []float32{1, 2, 3}), "shape [2 2] wants 4 values, got 3"},
		{"zero dimension", root.Float32("x", []int{2, 0}, nil), "want positive dimensions"},
		{"scalar", root.Float32("x", nil, []float32{1}), "want 1 to 32 dimensions"},
		{"NUL in attribute", root.SetString("a", "x\x00y"), "without NUL"},
		{"full group", func() error { _, err := full.Group("more"); return err }(), fmt.Sprintf("at most %d entries", MaxGroupEntries)},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", c.err, c.want)
			}
		})
	}
	// An existing group is returned, not replaced.
	again, err := root.Group("full")
	if err != nil || again != full {
		t.Errorf("Group of an existing group: got %p, %v; want %p", again, err, full)
	}
}
