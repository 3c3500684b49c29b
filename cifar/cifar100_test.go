package cifar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture100 is a small CIFAR-100 dataset: image i has fine label
// (i*7) mod 100, coarse label fine/5, and pixels from i.
type fixture100 struct {
	train, test             []byte
	trainLabels, testLabels Labels100
	fine, coarse            []string
}

func newFixture100(nTrain, nTest int) fixture100 {
	f := fixture100{}
	for i := range NumFine {
		f.fine = append(f.fine, fmt.Sprintf("fine_%02d", i))
	}
	for i := range NumCoarse {
		f.coarse = append(f.coarse, fmt.Sprintf("coarse_%02d", i))
	}
	make1 := func(n, off int) ([]byte, Labels100) {
		img := make([]byte, n*ImageSize)
		for p := range img {
			img[p] = byte(p*31 + off)
		}
		var l Labels100
		for i := range n {
			fine := uint8((i*7 + off) % NumFine)
			l.Fine = append(l.Fine, fine)
			l.Coarse = append(l.Coarse, fine/5)
		}
		return img, l
	}
	f.train, f.trainLabels = make1(nTrain, 0)
	f.test, f.testLabels = make1(nTest, 3)
	return f
}

func (f fixture100) save(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), DirName100)
	if err := Save100(dir, f.train, f.test, f.trainLabels, f.testLabels, f.fine, f.coarse); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad100(t *testing.T) {
	f := newFixture100(30, 8)
	dir := f.save(t)
	for _, coarse := range []bool{false, true} {
		d, err := Load100(dir, coarse)
		if err != nil {
			t.Fatal(err)
		}
		wantTrain, wantTest, names := f.trainLabels.Fine, f.testLabels.Fine, f.fine
		if coarse {
			wantTrain, wantTest, names = f.trainLabels.Coarse, f.testLabels.Coarse, f.coarse
		}
		if !slices.Equal(d.Train.Labels, wantTrain) || !slices.Equal(d.Test.Labels, wantTest) {
			t.Errorf("coarse %v: labels %v / %v, want %v / %v", coarse, d.Train.Labels, d.Test.Labels, wantTrain, wantTest)
		}
		if !slices.Equal(d.Train.Classes, names) || !slices.Equal(d.Test.Classes, names) {
			t.Errorf("coarse %v: classes %v, want %v", coarse, d.Train.Classes[:3], names[:3])
		}
		if !bytes.Equal(d.Train.Images, f.train) || !bytes.Equal(d.Test.Images, f.test) {
			t.Errorf("coarse %v: images differ from the ones written", coarse)
		}
	}
	// Class selection works on fine labels as on CIFAR-10's.
	d, err := Load100(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := d.Split([]int{7, 14, 99}, SplitStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Classes, []string{"fine_07", "fine_14", "fine_99"}) || tr.Len() == 0 {
		t.Errorf("split: classes %v, %d images", tr.Classes, tr.Len())
	}
}

func TestLoad100Errors(t *testing.T) {
	f := newFixture100(10, 4)
	cases := []struct {
		name  string
		spoil func(dir string) error
		want  string
	}{
		{"missing test.bin", func(dir string) error { return os.Remove(filepath.Join(dir, TestFile100)) }, "test.bin: missing"},
		{"partial record", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, TrainFile100), make([]byte, RecordSize100+5), 0o644)
		}, "train.bin: size 3079 is not a multiple of the 3074-byte record"},
		{"over the official size", func(dir string) error {
			return os.Truncate(filepath.Join(dir, TestFile100), (TestRecords100+1)*RecordSize100)
		}, "test.bin: size 30743074 is over the 30740000 bytes of a CIFAR-100 file"},
		{"fine label out of range", func(dir string) error {
			b := Encode100(f.train, f.trainLabels)
			b[RecordSize100*2+1] = 100
			return os.WriteFile(filepath.Join(dir, TrainFile100), b, 0o644)
		}, "train.bin: record 2: label 100 outside 0-99"},
		{"19 coarse names", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, CoarseFile), []byte(strings.Join(f.coarse[:19], "\n")), 0o644)
		}, "coarse_label_names.txt: has 19 class names, want 20"},
		{"huge names file", func(dir string) error { return os.Truncate(filepath.Join(dir, FineFile), MaxMetaSize+1) }, "larger than 65536 bytes, want 100 class names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.save(t)
			if err := tc.spoil(dir); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func(string, bool) (*Dataset, error){"Load100": Load100, "Open100": Open100} {
				d, err := load(dir, false)
				var fe *FormatError
				if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &fe) {
					t.Errorf("%s: %v, want a *FormatError containing %q", name, err, tc.want)
					_ = d.Close()
				}
			}
		})
	}
	// A coarse label over 19 is an error only when coarse labels are read.
	dir := f.save(t)
	b := Encode100(f.train, f.trainLabels)
	b[0] = 20
	if err := os.WriteFile(filepath.Join(dir, TrainFile100), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load100(dir, false); err != nil {
		t.Errorf("fine labels: %v", err)
	}
	if _, err := Load100(dir, true); err == nil || !strings.Contains(err.Error(), "record 0: label 20 outside 0-19") {
		t.Errorf("coarse labels: %v, want record 0's label named", err)
	}
}

// archive100 returns the official layout of f as a tar.gz.
func archive100(t *testing.T, f fixture100) []byte {
	t.Helper()
	dir := f.save(t)
	entries := []entry{{name: DirName100 + "/", typ: tar.TypeDir}}
	for _, name := range []string{CoarseFile, FineFile, TestFile100, TrainFile100} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{name: DirName100 + "/" + name, typ: tar.TypeReg, data: b})
	}
	return tarGz(t, entries)
}

func TestDownload100(t *testing.T) {
	f := newFixture100(12, 5)
	archive := archive100(t, f)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cifar-10-binary.tar.gz" { // the wrong archive
			w.Write(tarGz(t, datasetEntries(t, fakeDataset(12, 4))))
			return
		}
		w.Write(archive)
	}))
	t.Cleanup(srv.Close)
	good := Archive{URL: srv.URL + "/cifar-100-binary.tar.gz", MD5: md5hex(archive), Size: int64(len(archive)), CIFAR100: true}

	cache := t.TempDir()
	var log bytes.Buffer
	dir, err := good.Locate(context.Background(), "", cache, true, &log)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(cache, DirName100) || !strings.Contains(log.String(), "Downloading CIFAR-100") {
		t.Errorf("dir %s, log %q", dir, log.String())
	}
	d, err := Load100(dir, true)
	if err != nil || !slices.Equal(d.Train.Labels, f.trainLabels.Coarse) {
		t.Fatalf("downloaded dataset: %v", err)
	}

	bad := []struct {
		name string
		a    Archive
		want string
	}{
		{"wrong MD5", Archive{URL: good.URL, MD5: strings.Repeat("0", 32), CIFAR100: true}, "want 00000000000000000000000000000000 (corrupt or wrong file)"},
		{"wrong size", Archive{URL: good.URL, MD5: good.MD5, Size: good.Size + 1, CIFAR100: true}, fmt.Sprintf("%d bytes, want %d", good.Size, good.Size+1)},
		{"CIFAR-10 archive", Archive{URL: srv.URL + "/cifar-10-binary.tar.gz", CIFAR100: true}, "unexpected directory, want only cifar-100-binary/"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			if a.MD5 == "" {
				a.MD5 = md5hex(tarGz(t, datasetEntries(t, fakeDataset(12, 4))))
			}
			cache := t.TempDir()
			_, err := a.Download(context.Background(), cache, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Download: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(cache, DirName100)); err == nil {
				t.Error("a failed download left a dataset")
			}
		})
	}
	if _, err := Locate100(context.Background(), "", t.TempDir(), false, nil); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "CIFAR-100 not found") {
		t.Errorf("Locate100 without download: %v", err)
	}
	if Official100().MD5 != "03b5dce01913d631647c71ecec9e9cb8" || !Official100().CIFAR100 {
		t.Errorf("Official100 %+v", Official100())
	}
}
