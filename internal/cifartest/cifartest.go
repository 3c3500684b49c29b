package cifartest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
)

// Classes returns the ten CIFAR-10 class names in label order, as
// batches.meta.txt lists them. The slice is the caller's.
func Classes() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
}

// Write saves a small dataset in the CIFAR-10 binary format to a fresh
// directory named cifar-10-batches-bin under tb.TempDir and returns that
// directory. It has nTrain training and nTest test images; image i of each
// set has label i mod 10, and the pixels are pseudo-random, the same for
// the same sizes. cifar.Save needs nTrain >= 5 and nTest >= 1.
func Write(tb testing.TB, nTrain, nTest int) string {
	tb.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	set := func(k int) *cifar.Set {
		s := &cifar.Set{Images: make([]byte, k*cifar.ImageSize), Labels: make([]uint8, k), Classes: Classes()}
		for i := range s.Images {
			s.Images[i] = byte(r.Uint32())
		}
		for i := range s.Labels {
			s.Labels[i] = uint8(i % cifar.NumClasses)
		}
		return s
	}
	dir := filepath.Join(tb.TempDir(), cifar.DirName)
	if err := cifar.Save(dir, &cifar.Dataset{Train: set(nTrain), Test: set(nTest)}); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// source is where RealDir downloads from; its tests point it at a local
// server.
var source = cifar.Official()

// RealDir returns the directory of the real CIFAR-10 binary files, found
// as tfcifar finds them (cifar.Locate): $TFCIFAR_DATA, else the user cache
// (cifar.DefaultCacheDir), else a download into that cache, checked against
// its MD5 sum. Without the data the test fails with a message saying why
// and what to set. Under -short nothing is downloaded, and when the data is
// not there RealDir returns the directory it looked in: callers skip or use
// synthetic data when that directory fails cifar.Check.
func RealDir(tb testing.TB) string {
	tb.Helper()
	env := os.Getenv("TFCIFAR_DATA")
	dir, err := source.Locate(context.Background(), env, "", !testing.Short(), nil)
	if err == nil {
		return dir
	}
	if !testing.Short() {
		tb.Fatalf("real CIFAR-10 data not available: %v\n(tests find it through TFCIFAR_DATA, make test DATA=DIR, or the user cache)", err)
	}
	if env != "" {
		return env
	}
	cache, err := cifar.DefaultCacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(cache, cifar.DirName)
}

// ModuleRoot walks up from the working directory (a package directory
// under go test) to the directory that holds go.mod.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			tb.Fatal(err)
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("go.mod not found above the working directory")
		}
		dir = up
	}
}

// Names100 returns CIFAR-100 class names for fixtures: fine0 ... fine99 and
// coarse0 ... coarse19.
func Names100() (fine, coarse []string) {
	for i := range cifar.NumFine {
		fine = append(fine, fmt.Sprintf("fine%d", i))
	}
	for i := range cifar.NumCoarse {
		coarse = append(coarse, fmt.Sprintf("coarse%d", i))
	}
	return fine, coarse
}
