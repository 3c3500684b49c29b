package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathErrors checks that stage names and export dirs that would make an
// export replace the run dir, its files, another stage's files or another
// export are refused before anything runs.
func TestPathErrors(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "run")
	link := filepath.Join(root, "link")
	if err := os.Symlink(run, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		sets []string
		want []string // substrings of the error
	}{
		{"name with a slash", []string{"stages.0.name=a/b"}, []string{"stages[0] (a/b)", "name: want letters"}},
		{"name ..", []string{"stages.0.name=.."}, []string{"name: want letters"}},
		{"name config.yaml", []string{"stages.0.name=config.yaml"}, []string{"stages[0] (config.yaml)", "run dir's config.yaml"}},
		{"name report.json", []string{"stages.1.name=report.json", "stages.1.model.from.stage=base"}, []string{"stages[1] (report.json)", "run dir's report.json"}},
		{"name report.txt", []string{"stages.0.name=report.txt"}, []string{"run dir's report.txt"}},
		{"name lock file", []string{"stages.0.name=tfcifar.lock"}, []string{"run dir's tfcifar.lock"}},
		{"name in another case", []string{"stages.0.name=Config.YAML"}, []string{"run dir's config.yaml"}},
		{"names differing in case", []string{"stages.1.name=BASE", "stages.1.model.from.stage=base"}, []string{"stages[1] (BASE)", `"BASE" is already the name of stages[0] (base)`}},
		{"export into the run dir", []string{"stages.0.export.dir=."}, []string{"stages[0] (base)", `export.dir: "."`, "is the run dir or contains it"}},
		{"export above the run dir", []string{"stages.0.export.dir=.."}, []string{`export.dir: ".."`, "contains it"}},
		{"export at the filesystem root", []string{"stages.0.export.dir=/"}, []string{"contains it"}},
		{"export through a link to the run dir", []string{"stages.0.export.dir=" + link}, []string{"contains it"}},
		{"export onto config.yaml", []string{"stages.0.export.dir=config.yaml"}, []string{"run dir's config.yaml"}},
		{"export onto report.json", []string{"stages.1.export.dir=report.json/x"}, []string{"stages[1] (transfer)", "run dir's report.json"}},
		{"export into another stage", []string{"stages.1.export.dir=base"}, []string{"stages[1] (transfer)", "directory of stages[0] (base)"}},
		{"export beside another stage's model", []string{"stages.1.export.dir=base/model2"}, []string{"directory of stages[0] (base)"}},
		{"export into an earlier stage's export", []string{"stages.1.export.dir=base/model/1"}, []string{"directory of stages[0] (base)"}},
		{"export into a later stage", []string{"stages.0.export.dir=transfer/model"}, []string{"stages[0] (base)", "directory of stages[1] (transfer)"}},
		{"export is the stage dir", []string{"stages.0.export.dir=base"}, []string{"stage's own directory"}},
		{"export onto the checkpoint", []string{"stages.0.export.dir=base/checkpoint"}, []string{"stage's checkpoint"}},
		{"export onto the history", []string{"stages.0.export.dir=base/history.json"}, []string{"stage's history.json"}},
		{"export onto the confusion matrix", []string{"stages.0.export.dir=base/confusion.png"}, []string{"stage's confusion.png"}},
		{"export onto the per-class report", []string{"stages.1.export.dir=transfer/classes.txt"}, []string{"stage's classes.txt"}},
		{"export onto a hidden name", []string{"stages.0.export.dir=base/.checkpoint-1"}, []string{"hidden name"}},
		{"same export dir", []string{"stages.0.export.dir=" + root + "/m", "stages.1.export.dir=" + root + "/m"}, []string{"stages[1] (transfer)", "export of stages[0] (base)"}},
		{"unversioned and versioned", []string{"stages.0.export.dir=" + root + "/m", "stages.1.export.dir=" + root + "/m", "stages.1.export.version=1"}, []string{"one holds the other"}},
		{"versioned and unversioned", []string{"stages.0.export.dir=" + root + "/m", "stages.0.export.version=2", "stages.1.export.dir=" + root + "/m"}, []string{"one holds the other"}},
		{"export nested in another", []string{"stages.0.export.dir=" + root + "/m", "stages.1.export.dir=" + root + "/m/inner"}, []string{"one holds the other"}},
		{"export holds the data", []string{"data.dir=" + root + "/m/cifar", "stages.0.export.dir=" + root + "/m"}, []string{"is or holds data.dir"}},
		{"export holds the source model", []string{"stages.0.export.dir=" + root + "/m", "stages.1.model.from={savedmodel: " + root + "/m/base, up_to: dropout}"}, []string{"SavedModel that stages[1] (transfer) reuses"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Load("", append([]string{"run.out=" + run}, tt.sets...))
			if err == nil {
				t.Fatalf("Load succeeded, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

func TestInside(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "model")
	link := filepath.Join(root, "link")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(model, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{model, true},
		{filepath.Join(model, "x.png"), true},
		{filepath.Join(model, "new", "x.png"), true},
		{filepath.Join(link, "x.png"), true},
		{filepath.Join(model, "..", "x.png"), false},
		{filepath.Join(root, "model2", "x.png"), false},
		{root, false},
	}
	for _, tc := range tests {
		if got := Inside(tc.path, model); got != tc.want {
			t.Errorf("Inside(%s, %s) = %v, want %v", tc.path, model, got, tc.want)
		}
	}
}

func TestValidPaths(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		desc string
		sets []string
	}{
		{"defaults", nil},
		{"own stage subdir", []string{"stages.0.export.dir=base/export/model"}},
		{"top-level models dir", []string{"stages.0.export.dir=models/base", "stages.1.export.dir=models/transfer"}},
		{"two versions of one model", []string{"stages.0.export.dir=" + root + "/m", "stages.0.export.version=1", "stages.1.export.dir=" + root + "/m", "stages.1.export.version=2"}},
		{"absolute dirs outside the run dir", []string{"stages.0.export.dir=" + root + "/a", "stages.1.export.dir=" + root + "/b"}},
		{"stage name with dots", []string{"stages.0.name=base.v2", "stages.1.model.from.stage=base.v2", "stages.0.export.dir=base.v2/model"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := Load("", append([]string{"run.out=" + filepath.Join(root, "run")}, tt.sets...)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
