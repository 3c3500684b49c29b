package config

import (
	"bytes"
	"fmt"
	"maps"
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
	"github.com/tfcifar/tfcifar/internal/capped"
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
	name, b := "transfer.yaml (embedded)", configs.Transfer()
	if path != "" {
		var err error
		if b, err = capped.ReadStream(path, MaxFileSize, "config files"); err != nil {
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

// parse loads a config the way golangci-lint loads its own: a fresh viper
// holds the layers (defaults of the data and run sections, the file, the
// environment, the -set overrides), merges them with its precedence and
// decodes the result into Config. What viper cannot do is done here:
//
//   - items of the stages list (and of the lists inside a stage) are
//     addressed by index or stage name, and a whole list or section may be
//     given as a YAML value; viper keeps a list as one value, so these
//     overrides edit the stages list in place (v.Get returns viper's own
//     value, not a copy; the viper is this parse's alone), which is then
//     set whole;
//   - the defaults of each stage, which live under the list;
//   - unknown keys and unknown TFCIFAR_ variables are errors with a
//     suggestion, and YAML size and nesting caps apply to the file and to
//     every value.
func parse(b []byte, sets []string) (*Config, error) {
	v, err := newViper(b)
	if err != nil {
		return nil, err
	}
	if err := checkSections(v); err != nil {
		return nil, err
	}
	v.SetDefault("data", toMap(DefaultData()))
	v.SetDefault("run", toMap(DefaultRun()))
	v.SetDefault("cluster", toMap(DefaultCluster()))
	bindEnv(v)
	o := overrides{v: v, list: map[string]any{"stages": v.Get("stages")}}
	if err := o.applyEnv(os.Environ()); err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := o.applySet(s); err != nil {
			return nil, err
		}
	}
	if err := o.finish(); err != nil {
		return nil, err
	}
	m := v.AllSettings()
	if err := checkKeys(m, configType, ""); err != nil {
		return nil, err
	}
	if err := checkStageKeys(m); err != nil {
		return nil, err
	}
	var c Config
	if err := unmarshal(v, &c); err != nil {
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
	v, err := newViper(b)
	if err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	if err := checkNetworkKeys(v.AllSettings(), ""); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	var n Network
	if err := unmarshal(v, &n); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	n = n.Named()
	if err := n.Validate(); err != nil {
		return Network{}, fmt.Errorf("network spec: %w", err)
	}
	return n.frozen(), nil
}

// newViper returns a fresh viper holding the YAML b, after checking its
// size limits.
func newViper(b []byte) (*viper.Viper, error) {
	if err := checkYAML(b); err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return v, nil
}

// checkSections checks that the file's data and run sections, if given,
// are mappings: viper would let the defaults beneath shadow a scalar.
func checkSections(v *viper.Viper) error {
	for _, k := range []string{"data", "run", "cluster"} {
		if x := v.Get(k); x != nil {
			if _, ok := x.(map[string]any); !ok {
				return fmt.Errorf("%s: want a mapping, got %T", k, x)
			}
		}
	}
	return nil
}

// unmarshal decodes the settings of v into out with viper, rejecting
// unknown keys and lossy numbers and reading string values (from the
// environment) as YAML.
func unmarshal(v *viper.Viper, out any) error {
	err := v.Unmarshal(out,
		viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), yamlHook, sizeHook, rangeHook, intHook)),
		func(dc *mapstructure.DecoderConfig) {
			dc.ErrorUnused = true
			dc.WeaklyTypedInput = false
		})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):\n\n")
		return fmt.Errorf("%s", strings.ReplaceAll(msg, "\n", "; "))
	}
	return nil
}

// yamlHook reads a string as a YAML value for a field that is not a
// string: environment variables reach viper as strings.
func yamlHook(from, to reflect.Type, v any) (any, error) {
	s, ok := v.(string)
	if !ok || to.Kind() == reflect.String || to.Kind() == reflect.Interface {
		return v, nil
	}
	return parseValue(s)
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

// rangeHook reads a Range or Values written as one number f as [f].
func rangeHook(from, to reflect.Type, v any) (any, error) {
	if to != reflect.TypeFor[Range]() && to != reflect.TypeFor[Values]() {
		return v, nil
	}
	switch n := v.(type) {
	case int:
		return []float64{float64(n)}, nil
	case int64:
		return []float64{float64(n)}, nil
	case float64:
		return []float64{n}, nil
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

// stageDefaults merges the defaults of a stage under each item of the
// stages list, which viper's defaults cannot reach.
func stageDefaults(list any) error {
	stages, ok := list.([]any)
	if !ok {
		if list != nil {
			return fmt.Errorf("stages: want a list of stages, got %T", list)
		}
		return nil
	}
	for i, s := range stages {
		sm, ok := s.(map[string]any)
		if !ok {
			return fmt.Errorf("stages[%d]: want a mapping, got %T", i, s)
		}
		// Fresh defaults per stage: merge shares their maps with sm.
		st := toMap(Stage{Train: DefaultTrain()})
		for _, k := range []string{"name", "classes", "model"} {
			delete(st, k)
		}
		merge(sm, st)
		if tr, ok := sm["train"].(map[string]any); ok {
			if cbs, ok := tr["callbacks"].(map[string]any); ok {
				for k, def := range callbackDefaults() {
					if cb, ok := cbs[k].(map[string]any); ok {
						merge(cb, def)
					}
				}
			}
		}
		if model, ok := sm["model"].(map[string]any); ok {
			if from, ok := model["from"].(map[string]any); ok {
				merge(from, map[string]any{"frozen": true})
			}
		}
	}
	return nil
}

// stageData puts the keys of the top-level data section under the data
// section of each stage that has one: a stage's data overrides the
// top-level data key by key.
func stageData(list, data any) {
	stages, _ := list.([]any)
	top, _ := data.(map[string]any)
	for _, s := range stages {
		sm, _ := s.(map[string]any)
		if d, ok := sm["data"].(map[string]any); ok {
			merge(d, maps.Clone(top)) // data holds no nested maps
		}
	}
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

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// overrides applies the environment and -set overrides on top of the file
// in v. Keys outside the stages list go to viper: its environment layer
// (bindEnv) or, for -set and for a whole section given in a variable, its
// Set layer, which comes first. Keys inside the stages list edit list in
// place: it is the stages value viper itself holds (v.Get does not copy),
// and finish sets it whole, so that the Set layer holds it.
type overrides struct {
	v    *viper.Viper
	list map[string]any // {"stages": the stages list}
}

// envLeaves are the keys outside the stages list that viper reads from
// the environment (bindEnv).
var envLeaves = leafKeys(configType, "")

// leafKeys returns the dotted keys of the values of the struct type t
// that lie outside lists.
func leafKeys(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range fields(t) {
		ft := deref(f.typ)
		switch {
		case isList(ft):
		case ft.Kind() == reflect.Struct:
			out = append(out, leafKeys(ft, join(prefix, f.name))...)
		default:
			out = append(out, join(prefix, f.name))
		}
	}
	return out
}

// envName is the environment variable of key: run.out is TFCIFAR_RUN_OUT.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// bindEnv lets viper read the variable of every key outside the stages
// list (envName); an empty variable sets an empty value.
func bindEnv(v *viper.Viper) {
	v.SetEnvPrefix(strings.TrimSuffix(EnvPrefix, "_"))
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(true)
	for _, k := range envLeaves {
		if err := v.BindEnv(k); err != nil {
			panic(err) // BindEnv fails only without a key
		}
	}
}

// applyEnv checks every TFCIFAR_<KEY> variable of env but those of
// OtherEnv: one that names no config key is an error. It applies those
// viper does not read itself, in key order (a whole list before its
// items). A variable may set a whole section or list
// (TFCIFAR_STAGES_0_MODEL_LAYERS='[{type: flatten}, ...]').
func (o *overrides) applyEnv(env []string) error {
	type override struct{ key, name, value string }
	var sets []override
	for _, e := range env {
		name, v, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || slices.Contains(otherEnv, name) {
			continue
		}
		key, ok := envKey(o.list, name)
		if !ok {
			return unknownEnv(name)
		}
		if name == envName(key) && slices.Contains(envLeaves, key) {
			continue // read by viper
		}
		sets = append(sets, override{key, name, v})
	}
	slices.SortFunc(sets, func(a, b override) int { return strings.Compare(a.key, b.key) })
	for _, s := range sets {
		if err := o.set(s.key, s.value); err != nil {
			return fmt.Errorf("env %s: %w", s.name, err)
		}
	}
	return nil
}

// applySet applies one "key=value" override.
func (o *overrides) applySet(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("set %q: want key=value, e.g. run.out=runs/x", s)
	}
	key := strings.ToLower(strings.TrimSpace(k))
	if err := checkKey(key); err != nil {
		return fmt.Errorf("set %q: %w", s, err)
	}
	if err := o.set(key, v); err != nil {
		return fmt.Errorf("set %q: %w", s, err)
	}
	return nil
}

// set stores the YAML value v at the dotted key.
func (o *overrides) set(key, v string) error {
	val, err := parseValue(v)
	if err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if key == "stages" || strings.HasPrefix(key, "stages.") {
		return setIn(o.list, key, val)
	}
	o.v.Set(key, val)
	return nil
}

// finish fills the defaults of each stage and sets the stages list.
func (o *overrides) finish() error {
	list := o.list["stages"]
	if err := stageDefaults(list); err != nil {
		return err
	}
	stageData(list, o.v.AllSettings()["data"])
	if list != nil {
		o.v.Set("stages", list)
	}
	return nil
}

// parseValue reads an override's value as YAML, within the size limits;
// an empty or null value is the string itself.
func parseValue(v string) (any, error) {
	if err := checkYAML([]byte(v)); err != nil {
		return nil, err
	}
	var val any
	if err := yaml.Unmarshal([]byte(v), &val); err != nil {
		return nil, err
	}
	if val == nil {
		return v, nil
	}
	return val, nil
}

// setIn stores val at the dotted key in m. A path element selects a list
// item by index or, in a list of mappings, by its name.
func setIn(m map[string]any, key string, val any) error {
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
		s, _ := lm["type"].(string)
		typ := LayerType(s)
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
