package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/configs"
)

// FuzzLoad checks that loading any file with any -set override never
// panics, and that an accepted config validates and loads back from its
// resolved YAML. Seeds live in testdata/fuzz/FuzzLoad; the reference
// configs are added here.
func FuzzLoad(f *testing.F) {
	f.Add(configs.Transfer(), "stages.base.train.epochs=1")
	f.Add(configs.Reference(), "")
	f.Add([]byte(minimal), "stages.0.model.layers.0.filters=1000000000000")
	f.Add([]byte(minimal), "run.device=/job:worker/replica:0/task:3/device:CPU:0")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml []byte, set string) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, yaml, 0o644); err != nil {
			t.Fatal(err)
		}
		var sets []string
		if set != "" {
			sets = strings.Split(set, "\n")
		}
		c, err := Load(path, sets)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config "+path+": ") && !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a config that Validate refuses: %v", err)
		}
		b, err := c.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		if _, err := parse(b, nil); err != nil {
			t.Fatalf("resolved config does not load back: %v\n%s", err, b)
		}
	})
}
