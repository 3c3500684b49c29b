package cifar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entry is one file of a test archive.
type entry struct {
	name string
	typ  byte
	data []byte
	link string
}

// datasetEntries returns the archive entries of the official layout for d
// (top directory, the seven dataset files and readme.html).
func datasetEntries(t *testing.T, d *Dataset) []entry {
	t.Helper()
	dir := saveDataset(t, d)
	out := []entry{{name: DirName + "/", typ: tar.TypeDir}}
	for _, name := range append(dataFiles(), readmeFile) {
		data := []byte("<html></html>")
		if name != readmeFile {
			var err error
			if data, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, entry{name: DirName + "/" + name, typ: tar.TypeReg, data: data})
	}
	return out
}

// tarGz builds a tar.gz archive of the entries.
func tarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
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

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// serve serves archive and points Download at it, with MD5 sum
// (the archive's own sum if empty) for the rest of the test. It returns
// a counter of requests.
func serve(t *testing.T, archive []byte, sum string) *int {
	t.Helper()
	if sum == "" {
		sum = md5hex(archive)
	}
	requests := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests++
		if r.URL.Path != "/cifar-10-binary.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(archive)
	}))
	t.Cleanup(srv.Close)
	setDownload(t, srv.URL+"/cifar-10-binary.tar.gz", sum)
	return requests
}

func setDownload(t *testing.T, url, sum string) {
	old := official
	official = Archive{URL: url, MD5: sum}
	t.Cleanup(func() { official = old })
}

// leftovers returns the names in cacheDir other than the dataset directory.
func leftovers(t *testing.T, cacheDir string) []string {
	t.Helper()
	des, err := os.ReadDir(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if de.Name() != DirName {
			out = append(out, de.Name())
		}
	}
	return out
}

func TestDownload(t *testing.T) {
	want := fakeDataset(12, 4)
	serve(t, tarGz(t, datasetEntries(t, want)), "")
	tests := []struct {
		desc  string
		prior func(cache string) error // state of the cache before the download
	}{
		{"empty cache", func(string) error { return nil }},
		{"replaces a broken copy", func(cache string) error {
			if err := os.MkdirAll(filepath.Join(cache, DirName), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(cache, DirName, TestFile), []byte("junk"), 0o644)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			if err := tc.prior(cache); err != nil {
				t.Fatal(err)
			}
			var progress bytes.Buffer
			dir, err := Download(context.Background(), cache, &progress)
			if err != nil {
				t.Fatal(err)
			}
			if dir != filepath.Join(cache, DirName) {
				t.Errorf("dir %s, want %s", dir, filepath.Join(cache, DirName))
			}
			loadsAs(t, dir, want)
			if _, err := os.Stat(filepath.Join(dir, readmeFile)); err == nil {
				t.Error("readme.html was extracted")
			}
			if l := leftovers(t, cache); len(l) != 0 {
				t.Errorf("cache holds leftovers %v", l)
			}
			if !strings.Contains(progress.String(), "CIFAR-10") {
				t.Errorf("progress output %q lacks the bar", progress.String())
			}
		})
	}
}

func TestDownloadErrors(t *testing.T) {
	good := datasetEntries(t, fakeDataset(5, 1))
	with := func(extra ...entry) []entry { return append(append([]entry(nil), good...), extra...) }
	without := func(name string) []entry {
		var out []entry
		for _, e := range good {
			if e.name != DirName+"/"+name {
				out = append(out, e)
			}
		}
		return out
	}
	small := []byte("x")
	tests := []struct {
		desc    string
		entries []entry
		sum     string // MD5 to expect; "" for the archive's own
		reason  string
	}{
		{"bad MD5", good, "00000000000000000000000000000000", "MD5"},
		{"absolute path", with(entry{name: "/tmp/evil", typ: tar.TypeReg, data: small}), "", "absolute path"},
		{"dot-dot path", with(entry{name: DirName + "/../../evil", typ: tar.TypeReg, data: small}), "", `".."`},
		{"dot-dot to a dataset name", with(entry{name: "../" + DirName + "/" + TestFile, typ: tar.TypeReg, data: small}), "", `".."`},
		{"symlink", with(entry{name: DirName + "/evil", typ: tar.TypeSymlink, link: "/etc/passwd"}), "", "link"},
		{"hard link", with(entry{name: DirName + "/" + MetaFile + "2", typ: tar.TypeLink, link: "/etc/passwd"}), "", "link"},
		{"device", with(entry{name: DirName + "/dev", typ: tar.TypeChar}), "", "not allowed"},
		{"unexpected file", with(entry{name: DirName + "/run.sh", typ: tar.TypeReg, data: small}), "", "unexpected file"},
		{"file outside the dataset directory", with(entry{name: TestFile, typ: tar.TypeReg, data: small}), "", "unexpected file"},
		{"unexpected directory", with(entry{name: DirName + "/sub/", typ: tar.TypeDir}), "", "unexpected directory"},
		{"oversized class names", append(without(MetaFile), entry{name: DirName + "/" + MetaFile, typ: tar.TypeReg, data: make([]byte, maxMeta+1)}), "", "exceeds the limit"},
		{"duplicate file", with(entry{name: DirName + "/" + MetaFile, typ: tar.TypeReg, data: small}), "", "duplicate"},
		{"missing file", without("data_batch_4.bin"), "", "lacks " + DirName + "/data_batch_4.bin"},
		{"truncated data", append(without(TestFile), entry{name: DirName + "/" + TestFile, typ: tar.TypeReg, data: make([]byte, 100)}), "", "not a multiple"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			serve(t, tarGz(t, tc.entries), tc.sum)
			cache := t.TempDir()
			_, err := Download(context.Background(), cache, nil)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want an error containing %q", err, tc.reason)
			}
			if des, _ := os.ReadDir(cache); len(des) != 0 {
				t.Errorf("cache is not empty after a failed download: %v", des)
			}
		})
	}
	t.Run("not gzip", func(t *testing.T) {
		archive := []byte("<html>not found</html>")
		serve(t, archive, "")
		if _, err := Download(context.Background(), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "gzip") {
			t.Errorf("got %v, want a gzip error", err)
		}
	})
	t.Run("HTTP 404", func(t *testing.T) {
		serve(t, nil, "")
		official.URL += ".missing"
		if _, err := Download(context.Background(), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("got %v, want a 404 error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		serve(t, tarGz(t, good), "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Download(ctx, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("got %v, want a cancellation error", err)
		}
	})
}

// shortTimeouts sets the download timeouts to d for the rest of the test.
func shortTimeouts(t *testing.T, d time.Duration) {
	oldConnect, oldIdle := connectTimeout, idleTimeout
	connectTimeout, idleTimeout = d, d
	t.Cleanup(func() { connectTimeout, idleTimeout = oldConnect, oldIdle })
}

func TestDownloadStalls(t *testing.T) {
	archive := tarGz(t, datasetEntries(t, fakeDataset(5, 1)))
	tests := []struct {
		desc    string
		handler func(w http.ResponseWriter, r *http.Request, release <-chan struct{})
		want    []string
	}{
		{"no response", func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
			<-release
		}, []string{"no response within 200ms"}},
		{"stalls after some bytes", func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
			w.Header().Set("Content-Length", fmt.Sprint(len(archive)))
			w.Write(archive[:1000])
			w.(http.Flusher).Flush()
			<-release
		}, []string{"stalled: no data for 200ms after 1000 bytes"}},
		{"trickles, then stalls", func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
			for i := range 8 { // 8 x 100ms: longer than the idle timeout in all
				w.Write(archive[i : i+1])
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
			<-release
		}, []string{"stalled: no data for 200ms after 8 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			shortTimeouts(t, 200*time.Millisecond)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(w, r, release)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			setDownload(t, srv.URL+"/cifar-10-binary.tar.gz", md5hex(archive))
			cache := t.TempDir()
			var progress bytes.Buffer
			start := time.Now()
			_, err := Locate(context.Background(), "", cache, true, &progress)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v to fail", elapsed)
			}
			if err == nil {
				t.Fatal("got no error")
			}
			// The message says what happened and what to do instead.
			for _, w := range append(tc.want, srv.URL, "by hand", "MD5 "+md5hex(archive), "-data DIR", "DATA=DIR") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(progress.String(), "Downloading CIFAR-10 from "+srv.URL) {
				t.Errorf("progress %q does not say what is downloaded", progress.String())
			}
			if l := leftovers(t, cache); len(l) != 0 {
				t.Errorf("cache holds leftovers %v", l)
			}
		})
	}
}
