package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tfcifar/tfcifar/internal/suggest"
)

// otherEnv are the TFCIFAR_ environment variables that are not config
// overrides (test data, Python virtualenv, libtensorflow prefixes, the CUDA
// build's tests, reference test length, TensorFlow's own logging); Load
// leaves them alone and refuses any other TFCIFAR_ variable that names no
// config key.
var otherEnv = []string{"TFCIFAR_DATA", "TFCIFAR_VENV", "TFCIFAR_LIBTENSORFLOW", "TFCIFAR_LIBTENSORFLOW_GPU", "TFCIFAR_GPU_BUILD", "TFCIFAR_REFERENCE_EPOCHS", "TFCIFAR_TF_LOG"}

var (
	configType = reflect.TypeFor[Config]()
	layerType  = reflect.TypeFor[Layer]()
)

// field is one key of a config section.
type field struct {
	name string
	typ  reflect.Type
}

// fields returns the keys of a struct type, from its mapstructure tags.
func fields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
			fs = append(fs, field{tag, t.Field(i).Type})
		}
	}
	return fs
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isList reports whether t is a list of sections (stages, layers), whose
// items a key selects by index or name.
func isList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && deref(t.Elem()).Kind() == reflect.Struct
}

// checkKey checks the dotted key of a -set against the config's sections.
// Inside a layer any setting passes here: checkNetworkKeys then names the
// layer and the settings of its type.
func checkKey(key string) error {
	t := configType
	parts := strings.Split(key, ".")
	for i, p := range parts {
		t = deref(t)
		switch {
		case t == layerType:
			return nil
		case isList(t):
			t = t.Elem() // an index or a name; set reports a missing item
		case t.Kind() == reflect.Map && i == len(parts)-1:
			return nil // a key of a map section (cluster.jobs.worker)
		case t.Kind() == reflect.Struct:
			fs := fields(t)
			k := slices.IndexFunc(fs, func(f field) bool { return f.name == p })
			if k < 0 {
				return unknownKey(strings.Join(parts[:i], "."), p, t)
			}
			t = fs[k].typ
		default:
			return fmt.Errorf("%s: %s is a value, not a section", strings.Join(parts[:i+1], "."), strings.Join(parts[:i], "."))
		}
	}
	return nil
}

// checkKeys checks the keys of m, the generic form of a value of type t,
// at path (e.g. stages[0].train), before decoding, so that a misspelt key
// gets a suggestion. Layers are left to checkNetworkKeys.
func checkKeys(v any, t reflect.Type, path string) error {
	t = deref(t)
	switch {
	case t == layerType:
		return nil
	case isList(t):
		items, _ := v.([]any)
		for i, e := range items {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Struct:
		m, _ := v.(map[string]any)
		fs := fields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			i := slices.IndexFunc(fs, func(f field) bool { return f.name == k })
			if i < 0 {
				return unknownKey(path, k, t)
			}
			if err := checkKeys(m[k], fs[i].typ, join(path, fs[i].name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// unknownKey reports key, not a key of the section t at path, with the
// closest key of t or of its subsections as a suggestion.
func unknownKey(path, key string, t reflect.Type) error {
	var names []string
	for _, f := range fields(t) {
		names = append(names, f.name)
		if ft := deref(f.typ); ft.Kind() == reflect.Struct && ft != layerType {
			for _, sub := range fields(ft) {
				names = append(names, f.name+"."+sub.name)
			}
		}
	}
	msg := "invalid keys: " + key
	if s := suggest.Closest(key, names, func(n string) string { return n[strings.LastIndex(n, ".")+1:] }); s != "" && s != key {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	if path == "" {
		return fmt.Errorf("%s", msg)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// envKey returns the dotted key an environment variable TFCIFAR_<KEY> sets
// in m: "_" stands for "." and for the "_" inside key names; a list item
// is given by index or by name (stages by name: TFCIFAR_STAGES_BASE_...).
// The key uses indices. ok is false when the name matches no key.
func envKey(m map[string]any, name string) (key string, ok bool) {
	toks := strings.Split(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "_")
	keys := matchEnv(configType, m, toks)
	if len(keys) == 0 {
		return "", false
	}
	slices.Sort(keys)
	return keys[0], true // the schema's keys never make two matches; a stage name could
}

// matchEnv returns the dotted keys (relative to v, of type t) that the
// tokens of an environment variable name spell.
func matchEnv(t reflect.Type, v any, toks []string) []string {
	t = deref(t)
	if len(toks) == 0 {
		return []string{""}
	}
	var out []string
	add := func(prefix string, rest []string) {
		for _, r := range rest {
			k := prefix
			if r != "" {
				k += "." + r
			}
			out = append(out, k)
		}
	}
	switch {
	case isList(t):
		items, _ := v.([]any)
		if i, err := strconv.Atoi(toks[0]); err == nil && strconv.Itoa(i) == toks[0] {
			var item any // past the end: set reports the missing item
			if i < len(items) {
				item = items[i]
			}
			add(toks[0], matchEnv(t.Elem(), item, toks[1:]))
		}
		for i, e := range items {
			em, _ := e.(map[string]any)
			name, _ := em["name"].(string)
			n := strings.Split(strings.ToLower(strings.NewReplacer(".", "_", "-", "_").Replace(name)), "_")
			if name != "" && len(toks) >= len(n) && slices.Equal(toks[:len(n)], n) {
				add(strconv.Itoa(i), matchEnv(t.Elem(), e, toks[len(n):]))
			}
		}
	case t.Kind() == reflect.Struct:
		m, _ := v.(map[string]any)
		for _, f := range fields(t) {
			n := strings.Split(f.name, "_")
			if len(toks) >= len(n) && slices.Equal(toks[:len(n)], n) {
				add(f.name, matchEnv(f.typ, m[f.name], toks[len(n):]))
			}
		}
	}
	return out
}

// envNames lists the names of every config key as an environment
// variable, with N for list indices (TFCIFAR_STAGES_N_TRAIN_EPOCHS).
func envNames(t reflect.Type, prefix string, out *[]string) {
	t = deref(t)
	switch {
	case isList(t):
		envNames(t.Elem(), prefix+"_N", out)
	case t.Kind() == reflect.Struct:
		for _, f := range fields(t) {
			name := prefix + "_" + strings.ToUpper(f.name)
			*out = append(*out, name)
			envNames(f.typ, name, out)
		}
	}
}

// unknownEnv reports a TFCIFAR_ variable that names no config key, with
// the closest known name as a suggestion (indices kept).
func unknownEnv(name string) error {
	var known []string
	envNames(configType, strings.TrimSuffix(EnvPrefix, "_"), &known)
	toks := strings.Split(name, "_")
	var nums []string
	for i, t := range toks {
		if _, err := strconv.Atoi(t); err == nil {
			nums = append(nums, t)
			toks[i] = "N"
		}
	}
	msg := fmt.Sprintf("env %s: not a config key nor one of %s", name, strings.Join(otherEnv, ", "))
	if s := suggest.Closest(strings.Join(toks, "_"), append(known, otherEnv...), nil); s != "" {
		for _, n := range nums {
			s = strings.Replace(s, "_N", "_"+n, 1)
		}
		s = strings.ReplaceAll(s, "_N", "_0")
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Errorf("%s; a config key is set by %s and the key in upper case with _ for . (%sSTAGES_0_TRAIN_EPOCHS)", msg, EnvPrefix, EnvPrefix)
}
