package checkpoint

import (
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/internal/tftest"
)

// testVar is a float32 resource variable with an assign op fed by a placeholder.
type testVar struct {
	name   string
	shape  []int64
	handle tf.Output
	value  tf.Output
	assign *tf.Operation
	read   tf.Output
}

func newTestVar(s *op.Scope, name string, shape ...int64) *testVar {
	s = s.SubScope(name)
	v := &testVar{name: name, shape: shape}
	v.handle = op.VarHandleOp(s, tf.Float, tf.MakeShape(shape...), op.VarHandleOpSharedName(name))
	v.value = op.Placeholder(s, tf.Float, op.PlaceholderShape(tf.MakeShape(shape...)))
	v.assign = op.AssignVariableOp(s, v.handle, v.value)
	v.read = op.ReadVariableOp(s, v.handle, tf.Float)
	return v
}

func (v *testVar) entry(shape bool) Entry {
	e := Entry{Name: v.name, Handle: v.handle, DType: tf.Float}
	if shape {
		e.Shape = v.shape
	}
	return e
}

// fill assigns base, base+1, ... to the variable.
func (v *testVar) fill(t *testing.T, sess *tf.Session, base float32) {
	t.Helper()
	n := int64(1)
	for _, d := range v.shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = base + float32(i)
	}
	val, err := tf.NewTensor(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Reshape(v.shape); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Run(map[tf.Output]*tf.Tensor{v.value: val}, nil, []*tf.Operation{v.assign}); err != nil {
		t.Fatalf("assign %s: %v", v.name, err)
	}
}

func (v *testVar) get(t *testing.T, sess *tf.Session) []float32 {
	t.Helper()
	out, err := sess.Run(nil, []tf.Output{v.read}, nil)
	if err != nil {
		t.Fatalf("read %s: %v", v.name, err)
	}
	return flatFloats(out[0].Value())
}

func flatFloats(v any) []float32 {
	switch x := v.(type) {
	case float32:
		return []float32{x}
	case []float32:
		return x
	case [][]float32:
		var r []float32
		for _, y := range x {
			r = append(r, y...)
		}
		return r
	}
	panic("flatFloats: unexpected type")
}

// saverGraph builds variables with the given shapes and a saver over them.
func saverGraph(t *testing.T, checkShapes bool, vars map[string][]int64) (*tf.Session, *Saver, map[string]*testVar) {
	t.Helper()
	s := op.NewScope()
	tv := map[string]*testVar{}
	var entries []Entry
	for name, shape := range vars {
		v := newTestVar(s, name, shape...)
		tv[name] = v
		entries = append(entries, v.entry(checkShapes))
	}
	sv, err := NewSaver(s, entries)
	if err != nil {
		t.Fatal(err)
	}
	return tftest.Session(t, s), sv, tv
}

func TestSaverRoundTrip(t *testing.T) {
	shapes := map[string][]int64{"dense/kernel": {3, 2}, "dense/bias": {2}}
	sess, sv, vars := saverGraph(t, true, shapes)
	for i, name := range []string{"dense/kernel", "dense/bias"} {
		vars[name].fill(t, sess, float32(10*i))
	}
	prefix := filepath.Join(t.TempDir(), "ckpt")
	if err := sv.Save(sess, prefix); err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{}
	for name, v := range vars {
		want[name] = v.get(t, sess)
		v.fill(t, sess, -100)
	}
	if err := sv.Restore(sess, prefix); err != nil {
		t.Fatal(err)
	}
	for name, v := range vars {
		got := v.get(t, sess)
		if len(got) != len(want[name]) {
			t.Fatalf("%s: got %d values, want %d", name, len(got), len(want[name]))
		}
		for i := range got {
			if got[i] != want[name][i] {
				t.Errorf("%s[%d] = %v after restore, want %v", name, i, got[i], want[name][i])
			}
		}
	}
	if got := sv.Names(); strings.Join(got, ",") != "dense/bias,dense/kernel" {
		t.Errorf("Names() = %v, want sorted names", got)
	}
	def := sv.Def()
	if def.FilenameTensorName != "save/filename:0" || def.SaveTensorName != "save/control_dependency:0" || def.RestoreOpName != "save/restore_all" {
		t.Errorf("Def() = %v, want save/filename:0, save/control_dependency:0, save/restore_all", def)
	}
}

func TestSaverErrors(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "ckpt")
	// The checkpoint holds only "a" of shape [2].
	sess, sv, vars := saverGraph(t, true, map[string][]int64{"a": {2}})
	vars["a"].fill(t, sess, 1)
	if err := sv.Save(sess, prefix); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc   string
		vars   map[string][]int64
		prefix string
		want   []string
	}{
		{"missing checkpoint", map[string][]int64{"a": {2}}, filepath.Join(dir, "nothing"), []string{"restore checkpoint", "nothing"}},
		{"variable missing from checkpoint", map[string][]int64{"a": {2}, "b": {1}}, prefix, []string{"restore checkpoint", "Key b not found"}},
		{"shape mismatch", map[string][]int64{"a": {3}}, prefix, []string{"restore checkpoint", `variable "a"`, "[2]", "[3]"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			sess, sv, _ := saverGraph(t, true, tc.vars)
			err := sv.Restore(sess, tc.prefix)
			if err == nil {
				t.Fatal("Restore succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewSaverErrors(t *testing.T) {
	s := op.NewScope()
	a := newTestVar(s, "a", 1)
	tests := []struct {
		desc    string
		entries []Entry
		want    string
	}{
		{"no entries", nil, "at least one"},
		{"empty name", []Entry{{Handle: a.handle, DType: tf.Float}}, "no name"},
		{"duplicate", []Entry{a.entry(false), a.entry(false)}, `"a" listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := NewSaver(s, tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSaver error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
