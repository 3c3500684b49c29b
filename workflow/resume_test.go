package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
)

// TestReusedEqualSource checks, with and without cached frozen layers,
// that every reused frozen weight of the transfer export equals the base
// export's bit for bit.
func TestReusedEqualSource(t *testing.T) {
	data := fixture(t, 200)
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache_frozen=%v", cache), func(t *testing.T) {
			cfg := smallConfig(t, data, fmt.Sprintf("stages.transfer.train.cache_frozen=%v", cache))
			rep, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkReused(t, cfg, 1, rep.Stages[0].Export, rep.Stages[1].Export)
		})
	}
}

// checkReused checks that the weights of the reused frozen layers of
// stage i in the export dst equal those of the export src.
func checkReused(t *testing.T, cfg *config.Config, i int, src, dst string) {
	t.Helper()
	net, err := cfg.Resolve(i, newSources().network)
	if err != nil {
		t.Fatal(err)
	}
	m, err := graph.Build(op.NewScope(), net, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	frozen := map[string]bool{}
	for _, l := range net.Layers {
		frozen[l.Name] = l.Reused && l.Frozen
	}
	aRead, err := savedmodel.ReadVariables(src, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := aRead.Weights
	bRead, err := savedmodel.ReadVariables(dst, savedmodel.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := bRead.Weights
	n := 0
	for _, v := range m.Variables {
		if !frozen[v.Layer] || v.State {
			continue
		}
		n++
		if !sameTensor(a[v.Name], b[v.Name]) {
			t.Errorf("reused frozen %s differs from the source's", v.Name)
		}
	}
	if n == 0 {
		t.Error("no reused frozen weights to compare")
	}
}

// TestResumeChecksMeaning resumes a finished run with settings that keep
// what its checkpoints mean (more epochs, cache_frozen toggled, the data
// copied elsewhere) and with ones that change it (classes, data), which
// are refused with a *train.ResumeRefused.
func TestResumeChecksMeaning(t *testing.T) {
	data := fixture(t, 200)
	bg := context.Background()
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache_frozen %v then %v", cache, !cache), func(t *testing.T) {
			first := smallConfig(t, data, fmt.Sprintf("stages.transfer.train.cache_frozen=%v", cache))
			rep, err := Run(bg, first, Options{})
			if err != nil {
				t.Fatal(err)
			}
			again := smallConfig(t, data, "run.out="+first.Run.Out, "stages.transfer.train.epochs=2",
				fmt.Sprintf("stages.transfer.train.cache_frozen=%v", !cache))
			var out bytes.Buffer
			rep2, err := Run(bg, again, Options{Out: &out, Resume: true})
			if err != nil {
				t.Fatalf("resume: %v\n%s", err, out.String())
			}
			if n := len(rep2.Stages[1].Epochs); n != 2 {
				t.Errorf("resumed transfer stage has %d epochs, want 2", n)
			}
			if !reflect.DeepEqual(rep2.Stages[1].Epochs[0], rep.Stages[1].Epochs[0]) {
				t.Errorf("epoch 1 after resume %+v, want the checkpoint's %+v", rep2.Stages[1].Epochs[0], rep.Stages[1].Epochs[0])
			}
			checkReused(t, again, 1, rep2.Stages[0].Export, rep2.Stages[1].Export)
		})
	}

	first := smallConfig(t, data)
	if _, err := Run(bg, first, Options{}); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(moved, os.DirFS(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(bg, smallConfig(t, moved, "run.out="+first.Run.Out), Options{Resume: true}); err != nil {
		t.Errorf("resume with the data moved: %v", err)
	}
	refused := []struct {
		desc, field string
		sets        []string
	}{
		{"other classes", "classes", []string{"data.dir=" + data, "stages.base.classes=[0,1,2,3,5]"}},
		{"other data", "data", []string{"data.dir=" + cifartest.Write(t, 250, 50)}},
		{"other split", "data", []string{"data.dir=" + data, "data.validation_fraction=0.3"}},
		{"other scale", "data.scale", []string{"data.dir=" + data, "data.scale=0.5"}},
		{"other network", "network", []string{"data.dir=" + data, "stages.base.model.layers.6.units=64"}},
	}
	for _, c := range refused {
		t.Run(c.desc, func(t *testing.T) {
			cfg := smallConfig(t, data, append([]string{"run.out=" + first.Run.Out}, c.sets...)...)
			_, err := Run(bg, cfg, Options{Resume: true})
			var r *train.ResumeRefused
			if !errors.As(err, &r) || !strings.Contains(r.Field, c.field) {
				t.Errorf("resume: err = %v, want a *train.ResumeRefused naming %s", err, c.field)
			}
		})
	}
}
