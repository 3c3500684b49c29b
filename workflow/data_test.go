package workflow

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
)

// TestPrepareKeepsOnlyStageSets checks that prepare keeps every stage's
// own sets and drops the whole datasets, that split gives a stage the sets
// prepare made once, and that a later split reads the data again, equal.
func TestPrepareKeepsOnlyStageSets(t *testing.T) {
	cfg := smallConfig(t, fixture(t, 100))
	ds := newDatasets(cfg, io.Discard)
	ctx := context.Background()
	if err := ds.prepare(ctx, newSources().network); err != nil {
		t.Fatal(err)
	}
	if len(ds.cifar) != 0 || len(ds.folders) != 0 {
		t.Errorf("after prepare: %d CIFAR datasets and %d folders kept, want none", len(ds.cifar), len(ds.folders))
	}
	if len(ds.sets) != len(cfg.Stages) {
		t.Fatalf("after prepare: sets of %d stages, want %d", len(ds.sets), len(cfg.Stages))
	}
	for i := range cfg.Stages {
		net, err := cfg.Resolve(i, newSources().network)
		if err != nil {
			t.Fatal(err)
		}
		kept := ds.sets[i]
		train, val, err := ds.split(ctx, i, net)
		if err != nil {
			t.Fatal(err)
		}
		if train != kept[0] || val != kept[1] {
			t.Errorf("stage %d: split did not give the sets prepare made", i)
		}
		if _, ok := ds.sets[i]; ok {
			t.Errorf("stage %d: its sets are still kept after split", i)
		}
		again, againVal, err := ds.split(ctx, i, net)
		if err != nil {
			t.Fatal(err)
		}
		if again == train || fingerprint(t, again) != fingerprint(t, train) || fingerprint(t, againVal) != fingerprint(t, val) {
			t.Errorf("stage %d: a second split is not a fresh read of the same sets", i)
		}
	}
}

// fingerprint returns s's fingerprint, failing t if it cannot be read.
func fingerprint(t *testing.T, s *cifar.Set) string {
	t.Helper()
	fp, err := s.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// TestDataInMemory checks that data.in_memory false leaves the stages'
// images in the CIFAR files, which Close closes, and that true loads the
// same images into memory.
func TestDataInMemory(t *testing.T) {
	dir := fixture(t, 100)
	sets := map[bool][]*cifar.Set{}
	for _, inMemory := range []bool{false, true} {
		cfg := smallConfig(t, dir)
		cfg.Data.InMemory = inMemory
		ds := newDatasets(cfg, io.Discard)
		if err := ds.prepare(context.Background(), newSources().network); err != nil {
			t.Fatal(err)
		}
		for i := range cfg.Stages {
			for _, s := range ds.sets[i] {
				if s.Stored() == inMemory || (s.Images == nil) != !inMemory {
					t.Errorf("in_memory %v: stage %d has a set stored %v with %d image bytes", inMemory, i, s.Stored(), len(s.Images))
				}
				sets[inMemory] = append(sets[inMemory], s)
			}
		}
		if inMemory && len(ds.opened) != 0 {
			t.Errorf("in_memory: %d whole datasets kept after prepare, want none", len(ds.opened))
		}
		if !inMemory {
			defer func() {
				if err := ds.Close(); err != nil {
					t.Fatal(err)
				}
				if err := sets[false][0].ReadImage(0, make([]byte, cifar.ImageSize)); !errors.Is(err, os.ErrClosed) {
					t.Errorf("reading a stored image after Close: %v, want os.ErrClosed", err)
				}
			}()
		}
	}
	for k, s := range sets[false] {
		if fingerprint(t, s) != fingerprint(t, sets[true][k]) {
			t.Errorf("set %d: the stored images are not those loaded in memory", k)
		}
	}
}

// TestPrepareChecksSpillDir checks that a run whose cached features would
// go to a directory that cannot hold a file fails before any stage trains,
// and that data.in_memory: true needs no such directory.
func TestPrepareChecksSpillDir(t *testing.T) {
	dir := fixture(t, 100)
	missing := filepath.Join(t.TempDir(), "missing")
	t.Setenv("TMPDIR", missing)
	for _, inMemory := range []bool{false, true} {
		cfg := smallConfig(t, dir)
		cfg.Data.InMemory = inMemory
		ds := newDatasets(cfg, io.Discard)
		err := ds.prepare(context.Background(), newSources().network)
		want := "data.in_memory is false, so cached features go to a temporary file in " + missing
		if inMemory && err != nil || !inMemory && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("in_memory %v: prepare: %v", inMemory, err)
		}
		if err := ds.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
