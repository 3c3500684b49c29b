package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain returns a config of n stages, each but the first reusing all but
// the last layer of the one before; the first has layers layers.
func chain(n, layers int) string {
	var b strings.Builder
	b.WriteString("stages:\n- name: s0\n  classes: [0, 1]\n  model:\n    input: [32, 32, 3]\n    layers:\n    - {type: global_avgpool2d}\n")
	for range layers - 2 {
		b.WriteString("    - {type: dropout, rate: 0.1}\n")
	}
	b.WriteString("    - {type: dense, units: 2}\n")
	for s := 1; s < n; s++ {
		fmt.Fprintf(&b, "- name: s%d\n  classes: [0, 1]\n  model:\n    input: [32, 32, 3]\n    from: {stage: s%d, up_to: dropout_%d}\n    layers: [{type: dense, units: 2}]\n", s, s-1, layers-3)
	}
	return b.String()
}

// keys returns a mapping of n keys under x.
func keys(n int) string {
	var b strings.Builder
	b.WriteString("x:\n")
	for i := range n {
		fmt.Fprintf(&b, "  k%d: 1\n", i)
	}
	return b.String()
}

// TestLoadLimits checks that configs past the documented caps are refused
// quickly, with a message naming the cap, and that configs at the caps
// load in bounded time.
func TestLoadLimits(t *testing.T) {
	const bound = 10 * time.Second // on a loaded machine; each case takes well under a second
	errs := []struct {
		desc, yaml string
		want       []string
	}{
		{"file over the cap", "# " + strings.Repeat("x", MaxFileSize) + "\n" + minimal, []string{"larger than 1 MiB, the cap for config files"}},
		{"mapping of many keys", keys(80000), []string{"line 2: a mapping of 80000 keys, over the cap of 256"}},
		{"long list", "x: [" + strings.Repeat("0, ", MaxItems) + "0]\n", []string{"a list of 1001 items, over the cap of 1000"}},
		{"deep nesting", "x: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", []string{"nested more than 64 deep"}},
		{"alias bomb", "a: &a [" + strings.Repeat("0,", 999) + "0]\nb: &b [" + strings.Repeat("*a,", 999) + "*a]\nc: [" + strings.Repeat("*b,", 999) + "*b]\n", []string{"excessive aliasing"}},
		{"too many stages", chain(MaxStages+1, 3), []string{"stages: 101 stages, over the cap of 100"}},
		{"too many layers", chain(1, MaxLayers+1), []string{"a list of 1001 items"}},
		{"too many resolved layers", strings.Replace(chain(2, MaxLayers), "[{type: dense", "[{type: dropout, rate: 0.1}, {type: dense", 1),
			[]string{"stages[1] (s1): model.layers: 1001 layers, over the cap of 1000"}},
	}
	for _, tt := range errs {
		t.Run(tt.desc, func(t *testing.T) {
			path := writeFile(t, tt.yaml)
			start := time.Now()
			_, err := Load(path, nil)
			if d := time.Since(start); d > bound {
				t.Errorf("Load took %v, want under %v", d, bound)
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error with %q", tt.want)
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("endless file", func(t *testing.T) {
		_, err := Load("/dev/zero", nil)
		if err == nil || !strings.Contains(err.Error(), "config: /dev/zero: larger than 1 MiB") {
			t.Errorf("Load(/dev/zero) = %v, want an error naming the file and the cap", err)
		}
	})
	t.Run("value over the cap", func(t *testing.T) {
		_, err := Load("", []string{"run.out=" + strings.Repeat("x", MaxFileSize+1)})
		if err == nil || !strings.Contains(err.Error(), "over the 1 MiB cap") {
			t.Errorf("Load = %v, want an error naming the cap", err)
		}
	})
	t.Run("at the caps", func(t *testing.T) {
		path := writeFile(t, chain(MaxStages, MaxLayers))
		start := time.Now()
		c, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > bound {
			t.Errorf("Load took %v, want under %v", d, bound)
		}
		if n, err := c.Resolve(MaxStages-1, nil); err != nil || len(n.Layers) != MaxLayers {
			t.Errorf("last stage: %d layers, %v; want %d", len(n.Layers), err, MaxLayers)
		}
	})
}

func TestSizeText(t *testing.T) {
	for _, c := range []struct {
		b    float64
		want string
	}{{0, "0 bytes"}, {1000, "1000 bytes"}, {1 << 20, "1 MiB"}, {1536, "1.5 KiB"}, {8 << 30, "8 GiB"}, {3.2e12, "2.9 TiB"}} {
		if got := sizeText(c.b); got != c.want {
			t.Errorf("sizeText(%g) = %q, want %q", c.b, got, c.want)
		}
	}
}
