package cifartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
)

// archive returns the files of dir as a tar.gz in the layout of the
// official CIFAR-10 archive.
func archive(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		hdr := &tar.Header{Name: cifar.DirName + "/" + de.Name(), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRealDir checks that the tests find CIFAR-10 in tfcifar's order:
// TFCIFAR_DATA, the user cache, a download into the user cache (not under
// -short).
func TestRealDir(t *testing.T) {
	data := Write(t, 10, 2)
	requests := 0
	body := archive(t, data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	sum := md5.Sum(body)
	old := source
	source = cifar.Archive{URL: srv.URL + "/cifar-10-binary.tar.gz", MD5: hex.EncodeToString(sum[:])}
	t.Cleanup(func() { source = old })

	t.Run("TFCIFAR_DATA first", func(t *testing.T) {
		t.Setenv("TFCIFAR_DATA", data)
		t.Setenv("XDG_CACHE_HOME", t.TempDir())
		if got := RealDir(t); got != data {
			t.Errorf("got %s, want %s", got, data)
		}
	})
	t.Run("then the user cache", func(t *testing.T) {
		t.Setenv("TFCIFAR_DATA", "")
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		want := filepath.Join(cache, "tfcifar", cifar.DirName)
		if err := os.CopyFS(want, os.DirFS(data)); err != nil {
			t.Fatal(err)
		}
		if got := RealDir(t); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("then a download into the user cache", func(t *testing.T) {
		t.Setenv("TFCIFAR_DATA", "")
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		requests = 0
		want := filepath.Join(cache, "tfcifar", cifar.DirName)
		if got := RealDir(t); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		wantRequests, check := 1, error(nil)
		if testing.Short() {
			wantRequests, check = 0, os.ErrNotExist
		}
		if requests != wantRequests {
			t.Errorf("%d downloads, want %d (-short %v)", requests, wantRequests, testing.Short())
		}
		if err := cifar.Check(want); (err == nil) != (check == nil) {
			t.Errorf("cifar.Check(%s) = %v (-short %v)", want, err, testing.Short())
		}
	})
}
