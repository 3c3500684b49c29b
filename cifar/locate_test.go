package cifar

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCacheDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("HOME", t.TempDir())
	want, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if want = filepath.Join(want, "tfcifar"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestLocate(t *testing.T) {
	d := fakeDataset(10, 2)
	archive := tarGz(t, datasetEntries(t, d))
	local := saveDataset(t, d)
	tests := []struct {
		desc      string
		dataDir   bool // pass a valid data directory
		cached    bool // the cache already holds the data
		download  bool
		want      string // "data", "cache"
		downloads int
	}{
		{"data dir wins over the cache", true, true, true, "data", 0},
		{"data dir without cache or download", true, false, false, "data", 0},
		{"cache hit needs no download", false, true, true, "cache", 0},
		{"cache miss downloads", false, false, true, "cache", 1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			requests := serve(t, archive, "")
			cache := t.TempDir()
			if tc.cached {
				if err := Save(filepath.Join(cache, DirName), d); err != nil {
					t.Fatal(err)
				}
			}
			dataDir, want := "", filepath.Join(cache, DirName)
			if tc.dataDir {
				dataDir = local
			}
			if tc.want == "data" {
				want = local
			}
			got, err := Locate(context.Background(), dataDir, cache, tc.download, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
			if *requests != tc.downloads {
				t.Errorf("%d downloads, want %d", *requests, tc.downloads)
			}
		})
	}
}

func TestLocateErrors(t *testing.T) {
	broken := saveDataset(t, fakeDataset(5, 1))
	if err := os.Remove(filepath.Join(broken, "data_batch_2.bin")); err != nil {
		t.Fatal(err)
	}
	hint := []string{"-data DIR", "TFCIFAR_DATA_DIR", "data.dir"}
	tests := []struct {
		desc     string
		dataDir  string
		download bool
		badCache bool // the cache holds a broken copy
		notFound bool // wraps ErrNotFound
		want     []string
	}{
		{"broken data dir", broken, true, false, false, []string{filepath.Join(broken, "data_batch_2.bin"), "missing"}},
		{"empty cache, download disabled", "", false, false, true, append([]string{"not found", "download is disabled"}, hint...)},
		{"broken cache, download disabled", "", false, true, true, append([]string{"data_batch_2.bin: missing", "download is disabled"}, hint...)},
		{"offline", "", true, false, false, append([]string{"download", "connection refused"}, hint...)},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			serve(t, nil, "")
			official.URL = "http://127.0.0.1:1/cifar-10-binary.tar.gz" // nothing listens on port 1
			cache := t.TempDir()
			if tc.badCache {
				if err := os.CopyFS(filepath.Join(cache, DirName), os.DirFS(broken)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Locate(context.Background(), tc.dataDir, cache, tc.download, nil)
			if err == nil {
				t.Fatal("got no error")
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", !tc.notFound, tc.notFound)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
