package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/configs"
)

// loadFolderTransfer loads configs/folder-transfer.yaml with sets.
func loadFolderTransfer(t *testing.T, sets ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "folder-transfer.yaml")
	if err := os.WriteFile(path, configs.FolderTransfer(), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path, sets)
}

func TestStageData(t *testing.T) {
	t.Setenv("TFCIFAR_STAGES_HEAD_DATA_SKIP_BAD", "true")
	c, err := loadFolderTransfer(t, "stages.head.data.dir=/img", "data.scale=0.5", "data.cache_dir=/cache")
	if err != nil {
		t.Fatal(err)
	}
	base, head := c.DataOf(0), c.DataOf(1)
	if base.Source != SourceCIFAR10 || base.Dir != "" {
		t.Errorf("base data %+v, want the top-level CIFAR-10 section", base)
	}
	// The head's own keys win; the others come from the top-level section.
	if head.Source != SourceFolder || head.Dir != "/img" || !head.SkipBad || head.Scale != 0.5 || head.CacheDir != "/cache" || !head.Download {
		t.Errorf("head data %+v: want folder /img, skip_bad from the environment, scale and cache_dir inherited", head)
	}
	if len(c.Stages[1].Classes) != 0 {
		t.Errorf("head classes %v, want none (all the folder's)", c.Stages[1].Classes)
	}
	// The resolved config shows each stage's whole data section.
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "    data:\n      source: folder\n      dir: /img\n") {
		t.Errorf("resolved config lacks the head's data:\n%s", y)
	}
}

func TestStageDataErrors(t *testing.T) {
	cases := []struct {
		name string
		sets []string
		want string
	}{
		{"folder without dir", []string{"stages.head.data.dir="}, `stages[1] (head): data.dir: data.source folder needs the directory of class folders`},
		{"unknown source", []string{"stages.head.data.source=imagenet"}, `stages[1] (head): data.source: want one of cifar10, cifar100, folder, got "imagenet"`},
		{"unknown labels", []string{"data.labels=medium"}, `data.labels: want one of fine, coarse, got "medium"`},
		{"test_dir on CIFAR", []string{"data.test_dir=/x"}, "data.test_dir: only data.source folder has a test directory"},
		{"standard split without test_dir", []string{"stages.head.data.split=standard"}, "stages[1] (head): data.test_dir: data.split standard validates a folder on data.test_dir"},
		{"misspelt stage data key", []string{"stages.head.data.skipbad=true"}, "skipbad"},
		{"CIFAR-10 class 10", []string{"stages.base.classes=[0, 10]"}, "stages[0] (base): classes[1]: want one of the CIFAR-10 class ids 0-9, got 10"},
		{"coarse class 20", []string{"data.source=cifar100", "data.labels=coarse", "stages.base.classes=[0, 20]", "stages.base.model.layers.8.units=2"}, "classes[1]: want one of the CIFAR-100 class ids 0-19, got 20"},
		{"folder input not RGB", []string{"stages.head.model.input=[32, 32, 1]"}, "stages[1] (head): model.input: the stage trains on a folder of images resized to its input, want [height width 3]"},
		{"CIFAR-100 input not 32x32", []string{"data.source=cifar100", "stages.base.model.input=[64, 64, 3]"}, "model.input: the stage trains on CIFAR-100 images, want [32 32 3]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFolderTransfer(t, append([]string{"stages.head.data.dir=/img"}, tc.sets...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestStageDataValid(t *testing.T) {
	cases := []struct {
		name string
		sets []string
	}{
		{"CIFAR-100 fine classes", []string{"data.source=cifar100", "stages.base.classes=[0, 57, 99]", "stages.base.model.layers.8.units=3"}},
		{"folder with selected classes", []string{"stages.head.classes=[0, 2, 3, 1]"}},
		{"folder at 64x48", []string{"stages.head.model.input=[64, 48, 3]"}},
		{"standard split with a test folder", []string{"stages.head.data.split=standard", "stages.head.data.test_dir=/test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadFolderTransfer(t, append([]string{"stages.head.data.dir=/img"}, tc.sets...)...); err != nil {
				t.Error(err)
			}
		})
	}
}
