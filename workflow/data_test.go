package workflow

import (
	"context"
	"io"
	"testing"
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
		if again == train || again.Fingerprint() != train.Fingerprint() || againVal.Fingerprint() != val.Fingerprint() {
			t.Errorf("stage %d: a second split is not a fresh read of the same sets", i)
		}
	}
}
