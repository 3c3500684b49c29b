package cifar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRecordsLayout(t *testing.T) {
	// One record with distinct values per plane: R plane p%251, G 1+p%241, B 2+p%239.
	rec := make([]byte, RecordSize)
	rec[0] = 7
	for p := range 1024 {
		rec[1+p], rec[1025+p], rec[2049+p] = byte(p%251), byte(1+p%241), byte(2+p%239)
	}
	s, err := ReadRecords("one.bin", rec)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || s.Labels[0] != 7 {
		t.Fatalf("got %d records, label %v; want 1 record, label 7", s.Len(), s.Labels)
	}
	for _, c := range []struct{ y, x int }{{0, 0}, {0, 1}, {1, 0}, {17, 29}, {31, 31}} {
		p := c.y*32 + c.x
		got := s.Images[p*3 : p*3+3]
		want := []byte{rec[1+p], rec[1025+p], rec[2049+p]}
		if !bytes.Equal(got, want) {
			t.Errorf("pixel (%d,%d): got RGB %v, want %v", c.y, c.x, got, want)
		}
	}
}

func TestReadRecordsRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 13} {
		want := fakeSet(uint64(n), cycle(n, 3, 7)...)
		want.Classes = nil
		got, err := ReadRecords("x.bin", Encode(want))
		if err != nil {
			t.Fatalf("%d records: %v", n, err)
		}
		if d := sameSet(got, want); d != "" {
			t.Errorf("%d records: %s", n, d)
		}
	}
}

func TestReadRecordsErrors(t *testing.T) {
	valid := Encode(fakeSet(3, cycle(4, 0, 1)...))
	withLabel := func(rec int, label byte) []byte {
		b := bytes.Clone(valid)
		b[rec*RecordSize] = label
		return b
	}
	tests := []struct {
		desc   string
		data   []byte
		record int
		reason string
	}{
		{"empty file", nil, -1, "empty"},
		{"one byte short of a record", valid[:RecordSize-1], -1, "size 3072 is not a multiple of the 3073-byte record"},
		{"one byte too many", valid[:RecordSize+1], -1, "size 3074 is not a multiple"},
		{"trailing partial record", valid[:3*RecordSize+5], -1, "5 bytes left over"},
		{"label 10 in first record", withLabel(0, 10), 0, "label 10 outside 0-9"},
		{"label 255 in third record", withLabel(2, 255), 2, "label 255 outside 0-9"},
		{"bad label in last record", withLabel(3, 11), 3, "label 11"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ReadRecords("data_batch_9.bin", tc.data)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v, want a *FormatError", err)
			}
			if fe.File != "data_batch_9.bin" || fe.Record != tc.record || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %q (file %q, record %d), want file data_batch_9.bin, record %d, reason containing %q", err, fe.File, fe.Record, tc.record, tc.reason)
			}
		})
	}
}

func TestParseClasses(t *testing.T) {
	official := strings.Join(names10, "\n") + "\n"
	tests := []struct {
		desc string
		data string
	}{
		{"one name per line", official},
		{"no final newline", strings.TrimSuffix(official, "\n")},
		{"trailing blank lines", official + "\n\n"},
		{"CRLF line ends", strings.ReplaceAll(official, "\n", "\r\n")},
		{"surrounding spaces", " " + strings.ReplaceAll(official, "\n", " \n")},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseClasses("m.txt", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(names10, ",") {
				t.Errorf("got %q, want %q", got, names10)
			}
		})
	}
}

func TestParseClassesErrors(t *testing.T) {
	tests := []struct {
		desc   string
		data   string
		reason string
	}{
		{"empty file", "", "has 0 class names, want 10"},
		{"nine names", strings.Join(names10[:9], "\n"), "has 9 class names"},
		{"eleven names", strings.Join(append(names10, "extra"), "\n"), "has 11 class names"},
		{"empty line inside", strings.Join(names10[:4], "\n") + "\n\n" + strings.Join(names10[5:], "\n"), "line 5 is empty"},
		{"blank first line", " \n" + strings.Join(names10[1:], "\n"), "line 1 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ParseClasses("batches.meta.txt", []byte(tc.data))
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != "batches.meta.txt" || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %v, want a *FormatError for batches.meta.txt containing %q", err, tc.reason)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	want := fakeDataset(23, 7)
	dir := saveDataset(t, want)
	if err := Check(dir); err != nil {
		t.Fatalf("Check: %v", err)
	}
	loadsAs(t, dir, want)
}

func TestLoadErrors(t *testing.T) {
	d := fakeDataset(20, 6)
	tests := []struct {
		desc   string
		break_ func(dir string) error
		file   string
		record int
		reason string
		check  bool // Check also detects it
	}{
		{"missing training file", func(dir string) error { return os.Remove(filepath.Join(dir, "data_batch_3.bin")) },
			"data_batch_3.bin", -1, "missing", true},
		{"missing test file", func(dir string) error { return os.Remove(filepath.Join(dir, TestFile)) },
			TestFile, -1, "missing", true},
		{"missing class names", func(dir string) error { return os.Remove(filepath.Join(dir, MetaFile)) },
			MetaFile, -1, "missing", true},
		{"truncated test file", func(dir string) error { return truncate(filepath.Join(dir, TestFile), -1) },
			TestFile, -1, "not a multiple of the 3073-byte record", true},
		{"extra bytes in a training file", func(dir string) error { return truncate(filepath.Join(dir, "data_batch_5.bin"), 2) },
			"data_batch_5.bin", -1, "2 bytes left over", true},
		{"empty training file", func(dir string) error { return os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), nil, 0o644) },
			"data_batch_1.bin", -1, "empty", true},
		{"bad label", func(dir string) error { return poke(filepath.Join(dir, "data_batch_2.bin"), 3*RecordSize, 12) },
			"data_batch_2.bin", 3, "label 12 outside 0-9", false},
		{"bad label in test file", func(dir string) error { return poke(filepath.Join(dir, TestFile), 5*RecordSize, 10) },
			TestFile, 5, "label 10", false},
		{"nine class names", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, MetaFile), []byte(strings.Join(names10[:9], "\n")), 0o644)
		}, MetaFile, -1, "has 9 class names", true},
		// Sizes are checked before reading: a sparse file of 9 GB, a device
		// or a huge metadata file must not be read into memory.
		{"sparse 9 GB training file", func(dir string) error { return os.Truncate(filepath.Join(dir, "data_batch_4.bin"), 9e9) },
			"data_batch_4.bin", -1, "size 9000000000 is over the 30730000 bytes of a CIFAR-10 batch (10000 records of 3073 bytes)", true},
		{"one record more than a batch", func(dir string) error {
			return os.Truncate(filepath.Join(dir, TestFile), (FileRecords+1)*RecordSize)
		}, TestFile, -1, "over the 30730000 bytes", true},
		{"device as class names", func(dir string) error { return replaceWith(filepath.Join(dir, MetaFile), "/dev/zero") },
			MetaFile, -1, "not a regular file but a device", true},
		{"named pipe as training file", func(dir string) error {
			path := filepath.Join(dir, "data_batch_3.bin")
			return errors.Join(os.Remove(path), syscall.Mkfifo(path, 0o600))
		}, "data_batch_3.bin", -1, "not a regular file but a named pipe", true},
		{"device as training file", func(dir string) error { return replaceWith(filepath.Join(dir, "data_batch_1.bin"), "/dev/zero") },
			"data_batch_1.bin", -1, "not a regular file", true},
		{"directory as test file", func(dir string) error {
			path := filepath.Join(dir, TestFile)
			return errors.Join(os.Remove(path), os.Mkdir(path, 0o755))
		}, TestFile, -1, "not a regular file but a directory", true},
		{"sparse 1 GB class names", func(dir string) error { return os.Truncate(filepath.Join(dir, MetaFile), 1<<30) },
			MetaFile, -1, "larger than 65536 bytes", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := saveDataset(t, d)
			if err := tc.break_(dir); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, tc.file)
			for name, load := range map[string]func(string) (*Dataset, error){"Load": Load, "Open": Open} {
				d, err := load(dir)
				var fe *FormatError
				if !errors.As(err, &fe) || fe.File != want || fe.Record != tc.record || !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("%s: got %v, want a *FormatError for %s, record %d, containing %q", name, err, want, tc.record, tc.reason)
					_ = d.Close()
				}
			}
			if err := Check(dir); (err != nil) != tc.check {
				t.Errorf("Check: got %v, want error: %v", err, tc.check)
			}
		})
	}
}

// replaceWith replaces path by a symbolic link to target.
func replaceWith(path, target string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return os.Symlink(target, path)
}

// truncate changes the size of a file by delta bytes.
func truncate(path string, delta int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, fi.Size()+delta)
}

// poke sets the byte at offset of a file.
func poke(path string, offset int, v byte) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[offset] = v
	return os.WriteFile(path, b, 0o644)
}

func TestSaveErrors(t *testing.T) {
	tests := []struct {
		desc   string
		d      *Dataset
		reason string
	}{
		{"nil dataset", nil, "needs both Train and Test"},
		{"no test set", &Dataset{Train: fakeSet(1, cycle(5, 0, 1)...)}, "needs both"},
		{"too few training images", fakeDataset(4, 2), "Train has 4 images, want at least 5"},
		{"empty test set", fakeDataset(5, 0), "Test is empty"},
		{"more test images than a file holds", &Dataset{Train: fakeSet(1, cycle(5, 0, 1)...), Test: &Set{Images: make([]byte, (FileRecords+1)*ImageSize), Labels: make([]uint8, FileRecords+1), Classes: names10}},
			"want at most 50000 and 10000"},
		{"short image bytes", &Dataset{Train: &Set{Images: make([]byte, 10), Labels: make([]uint8, 5), Classes: names10}, Test: fakeSet(1, 0)},
			"5 images need 15360 bytes, have 10"},
		{"wrong class names", &Dataset{Train: &Set{Images: make([]byte, 5*ImageSize), Labels: make([]uint8, 5), Classes: names10[:3]}, Test: fakeSet(1, 0)},
			"3 class names, want 10"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := Save(filepath.Join(t.TempDir(), "d"), tc.d)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %v, want an error containing %q", err, tc.reason)
			}
		})
	}
	t.Run("existing directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := Save(dir, fakeDataset(5, 1)); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("got %v, want an error saying %s already exists", err, dir)
		}
	})
}
