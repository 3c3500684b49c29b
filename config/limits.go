package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on what a config may ask for. They are far above any useful run
// (the reference config is 2 KB with 10 layers) and keep a hostile or
// mistaken file from taking unbounded memory or time.
const (
	// MaxFileSize caps a config file, a network spec and a -set or
	// environment value, in bytes.
	MaxFileSize = 1 << 20
	// MaxKeys caps the keys of one YAML mapping, MaxItems the items of one
	// YAML sequence and MaxDepth the nesting of YAML collections.
	MaxKeys, MaxItems, MaxDepth = 256, 1000, 64
	// MaxStages caps the stages of a config.
	MaxStages = 100
	// MaxLayers caps the layers of a resolved network (reused ones included).
	MaxLayers = 1000
	// MaxBatchSize caps train.batch_size: all of CIFAR-10 in one batch.
	MaxBatchSize = 60000
	// MaxThreads caps run.intra_op_threads and run.inter_op_threads.
	MaxThreads = 256
	// MaxTrainBytes caps the estimated memory of training a stage's network
	// (see Network.Footprint) and of running a network on one example: 16 GiB.
	MaxTrainBytes = 16 << 30
)

// checkYAML parses b as YAML nodes (no alias is expanded) and checks the
// size limits, so that decoding it stays fast: the decoder's duplicate-key
// check is quadratic in the keys of a mapping.
func checkYAML(b []byte) error {
	if len(b) > MaxFileSize {
		return fmt.Errorf("%d bytes, over the %s cap", len(b), sizeText(MaxFileSize))
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	return checkNode(&n, 0)
}

func checkNode(n *yaml.Node, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("line %d: collections nested more than %d deep", n.Line, MaxDepth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if k := len(n.Content) / 2; k > MaxKeys {
			return fmt.Errorf("line %d: a mapping of %d keys, over the cap of %d", n.Line, k, MaxKeys)
		}
	case yaml.SequenceNode:
		if len(n.Content) > MaxItems {
			return fmt.Errorf("line %d: a list of %d items, over the cap of %d", n.Line, len(n.Content), MaxItems)
		}
	}
	for _, c := range n.Content {
		if err := checkNode(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// sizeText writes a byte count in binary units: 1 MiB, 8 GiB, 3.5 TiB.
func sizeText(b float64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return strings.TrimSuffix(strconv.FormatFloat(b, 'f', 1, 64), ".0") + " " + units[i]
}

// Ranges of float settings, checked by checkFloat.
var (
	positive = span{"a finite positive %s", func(f float32) bool { return f > 0 }}
	unitOpen = span{"a %s in (0, 1)", func(f float32) bool { return f > 0 && f < 1 }}
	unitLow  = span{"a %s in [0, 1)", func(f float32) bool { return f >= 0 && f < 1 }}
	unitHigh = span{"a %s in (0, 1]", func(f float32) bool { return f > 0 && f <= 1 }}
	nonNeg   = span{"a finite %s >= 0", func(f float32) bool { return f >= 0 }}
)

// span is a range of float32 values: want describes it, with %s for the
// kind of value ("rate", "fraction").
type span struct {
	want string
	in   func(float32) bool
}

// checkFloat checks a float setting: training runs in float32, so v must
// be finite and within s once rounded to float32 (0.99999999 is 1, 1e-50
// is 0, 1e39 is +Inf).
func checkFloat(field, what string, v float64, s span) error {
	f := float32(v)
	if !math.IsNaN(v) && !math.IsInf(float64(f), 0) && s.in(f) {
		return nil
	}
	got := fmt.Sprintf("got %g", v)
	if !math.IsNaN(v) && !math.IsInf(v, 0) && float64(f) != v {
		got += fmt.Sprintf(", which is %g as a float32", f)
	}
	return fmt.Errorf("%s: want %s, %s", field, fmt.Sprintf(s.want, what), got)
}
