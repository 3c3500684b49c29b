package config

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/tfcifar/tfcifar/configs"
)

// EnvPrefix starts the names of environment overrides: TFCIFAR_RUN_OUT sets
// run.out, TFCIFAR_STAGES_0_TRAIN_EPOCHS sets stages[0].train.epochs.
const EnvPrefix = "TFCIFAR_"

// Load reads the config file at path ("" means the reference config
// embedded in the binary), fills defaults, applies environment overrides
// (TFCIFAR_*) and then sets, each "key=value" with a dotted key
// (run.out=x, stages.0.train.epochs=1, stages.base.train.epochs=1) and a
// YAML value. Unknown keys are rejected and the result is validated; every
// error names the file.
func Load(path string, sets []string) (*Config, error) {
	name, b := "transfer.yaml (embedded)", configs.Transfer
	if path != "" {
		var err error
		if b, err = ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		name = path
	}
	c, err := parse(b, sets)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

func parse(b []byte, sets []string) (*Config, error) {
	m, err := read(b)
	if err != nil {
		return nil, err
	}
	if err := withDefaults(m); err != nil {
		return nil, err
	}
	if err := applyEnv(m, os.Environ()); err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := applySet(m, s); err != nil {
			return nil, err
		}
	}
	if err := withDefaults(m); err != nil { // again, under maps that sets replaced
		return nil, err
	}
	if err := checkKeys(m, configType, ""); err != nil {
		return nil, err
	}
	if err := checkStageKeys(m); err != nil {
		return nil, err
	}
	var c Config
	if err := decode(m, &c); err != nil {
		return nil, err
	}
	if err := checkStageCount(len(c.Stages)); err != nil {
		return nil, err
	}
	c.complete()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseNetwork reads a network spec written by Network.YAML (as stored in a
// SavedModel export), fills defaults and validates it.
func ParseNetwork(b []byte) (Network, error) {
	m, err := read(b)
	if err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	if err := checkNetworkKeys(m, ""); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	var n Network
	if err := decode(m, &n); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	n = n.Named()
	if err := n.Validate(); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	return n.frozen(), nil
}

// read parses YAML into a map through a fresh viper, after checking its
// size limits.
func read(b []byte) (map[string]any, error) {
	if err := checkYAML(b); err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return v.AllSettings(), nil
}

// decode fills out from m, rejecting unknown keys and lossy numbers.
func decode(m map[string]any, out any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.ComposeDecodeHookFunc(sizeHook, intHook),
		ErrorUnused: true,
		Result:      out,
	})
	if err != nil {
		return err
	}
	if err := d.Decode(m); err != nil {
		msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):\n\n")
		return fmt.Errorf("%s", strings.ReplaceAll(msg, "\n", "; "))
	}
	return nil
}

var sizeType = reflect.TypeOf(Size{})

// sizeHook reads a Size written as one integer n as [n, n].
func sizeHook(from, to reflect.Type, v any) (any, error) {
	if to != sizeType {
		return v, nil
	}
	switch n := v.(type) {
	case int:
		return Size{n, n}, nil
	case int64:
		return Size{int(n), int(n)}, nil
	}
	return v, nil
}

// intHook rejects fractional numbers, and numbers an int64 cannot hold,
// for integer fields.
func intHook(from, to reflect.Type, v any) (any, error) {
	if k := to.Kind(); k < reflect.Int || k > reflect.Int64 {
		return v, nil
	}
	if u, ok := v.(uint64); ok && u > math.MaxInt64 {
		return nil, fmt.Errorf("want an integer, got %d, out of range", u)
	}
	f, ok := v.(float64)
	switch {
	case !ok:
	case f != math.Trunc(f):
		return nil, fmt.Errorf("want an integer, got %g", f)
	case f < math.MinInt64 || f >= math.MaxInt64:
		return nil, fmt.Errorf("want an integer, got %g, out of range", f)
	}
	return v, nil
}

// toMap turns v into the generic map form YAML decodes to.
func toMap(v any) map[string]any {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(err) // our own structs always marshal
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// withDefaults merges the default data, run and per-stage sections under m.
func withDefaults(m map[string]any) error {
	def := toMap(Config{Data: DefaultData(), Run: DefaultRun()})
	delete(def, "stages")
	merge(m, def)
	stages, ok := m["stages"].([]any)
	if !ok {
		if _, set := m["stages"]; set {
			return fmt.Errorf("stages: want a list of stages, got %T", m["stages"])
		}
		return nil
	}
	for i, s := range stages {
		sm, ok := s.(map[string]any)
		if !ok {
			return fmt.Errorf("stages[%d]: want a mapping, got %T", i, s)
		}
		// Fresh defaults per stage: merge shares their maps with sm, and a
		// later -set into one stage must not change another.
		st := toMap(Stage{Train: DefaultTrain()})
		for _, k := range []string{"name", "classes", "model"} {
			delete(st, k)
		}
		merge(sm, st)
		if model, ok := sm["model"].(map[string]any); ok {
			if from, ok := model["from"].(map[string]any); ok {
				merge(from, map[string]any{"frozen": true})
			}
		}
	}
	return nil
}

// merge copies into dst every key of def it lacks, recursing into maps.
func merge(dst, def map[string]any) {
	for k, dv := range def {
		v, ok := dst[k]
		if !ok || v == nil {
			dst[k] = dv
			continue
		}
		if vm, ok := v.(map[string]any); ok {
			if dm, ok := dv.(map[string]any); ok {
				merge(vm, dm)
			}
		}
	}
}

// leaves lists the dotted paths of the scalar and list-of-scalar values of
// m, with list indices as path elements.
func leaves(prefix string, v any, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			leaves(join(prefix, k), e, out)
		}
	case []any:
		if len(t) > 0 {
			if _, ok := t[0].(map[string]any); ok {
				for i, e := range t {
					leaves(join(prefix, strconv.Itoa(i)), e, out)
				}
				return
			}
		}
		*out = append(*out, prefix)
	default:
		*out = append(*out, prefix)
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// applyEnv applies every TFCIFAR_<KEY> variable of env but those in
// otherEnv, in key order (a whole list before its items); one that names no
// config key is an error. A variable may set a whole section or list
// (TFCIFAR_STAGES_0_MODEL_LAYERS='[{type: flatten}, ...]').
func applyEnv(m map[string]any, env []string) error {
	type override struct{ key, name, value string }
	var sets []override
	for _, e := range env {
		name, v, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || slices.Contains(otherEnv, name) {
			continue
		}
		key, ok := envKey(m, name)
		if !ok {
			return unknownEnv(name)
		}
		sets = append(sets, override{key, name, v})
	}
	slices.SortFunc(sets, func(a, b override) int { return strings.Compare(a.key, b.key) })
	for _, o := range sets {
		if err := set(m, o.key, o.value); err != nil {
			return fmt.Errorf("env %s: %w", o.name, err)
		}
	}
	return nil
}

// applySet applies one "key=value" override.
func applySet(m map[string]any, s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("set %q: want key=value, e.g. run.out=runs/x", s)
	}
	key := strings.ToLower(strings.TrimSpace(k))
	if err := checkKey(key); err != nil {
		return fmt.Errorf("set %q: %w", s, err)
	}
	if err := set(m, key, v); err != nil {
		return fmt.Errorf("set %q: %w", s, err)
	}
	return nil
}

// set stores the YAML value v at the dotted key in m. A path element
// selects a list item by index or, in a list of mappings, by its name.
func set(m map[string]any, key, v string) error {
	var val any
	if err := checkYAML([]byte(v)); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if err := yaml.Unmarshal([]byte(v), &val); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if val == nil {
		val = v
	}
	parts := strings.Split(key, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		path := strings.Join(parts[:i+1], ".")
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = val
				return nil
			}
			if c[p] == nil {
				c[p] = map[string]any{}
			}
			cur = c[p]
		case []any:
			j, err := strconv.Atoi(p)
			if err != nil {
				j = slices.IndexFunc(c, func(e any) bool {
					em, ok := e.(map[string]any)
					name, _ := em["name"].(string)
					return ok && strings.EqualFold(name, p) // keys are lower-cased
				})
			}
			if j < 0 || j >= len(c) {
				return fmt.Errorf("%s: no item %q in a list of %d", path, p, len(c))
			}
			if last {
				c[j] = val
				return nil
			}
			cur = c[j]
		default:
			return fmt.Errorf("%s: %s is not a mapping or list", path, strings.Join(parts[:i], "."))
		}
	}
	return nil
}

// checkStageKeys checks the layer keys of every stage's model.
func checkStageKeys(m map[string]any) error {
	stages, _ := m["stages"].([]any)
	for i, s := range stages {
		sm, _ := s.(map[string]any)
		model, _ := sm["model"].(map[string]any)
		if err := checkNetworkKeys(model, "model."); err != nil {
			return fmt.Errorf("stages[%d] (%v): %w", i, sm["name"], err)
		}
	}
	return nil
}

// checkNetworkKeys checks that each layer mapping holds only the settings
// of its type, so the error can name the layer.
func checkNetworkKeys(model map[string]any, prefix string) error {
	layers, _ := model["layers"].([]any)
	for i, l := range layers {
		lm, ok := l.(map[string]any)
		if !ok {
			return fmt.Errorf("%slayers[%d]: want a mapping with a type, got %v", prefix, i, l)
		}
		typ, _ := lm["type"].(string)
		name, _ := lm["name"].(string)
		k, ok := kinds[typ]
		if !ok {
			continue // Layer.Validate reports the type
		}
		keys := make([]string, 0, len(lm))
		for f := range lm {
			keys = append(keys, f)
		}
		slices.Sort(keys)
		for _, f := range keys {
			if !allowed(typ, f) {
				return fmt.Errorf("%s%w", prefix, layerErr(i, Layer{Type: typ, Name: name},
					notSetting(f, typ, k)))
			}
		}
	}
	return nil
}
