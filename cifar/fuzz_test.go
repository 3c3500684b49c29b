package cifar

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadRecords checks that ReadRecords never panics, accepts exactly the
// well-formed files and decodes them losslessly (Encode gives the input back).
// Seeds live in testdata/fuzz/FuzzReadRecords.
func FuzzReadRecords(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadRecords("fuzz.bin", data)
		wellFormed := len(data) > 0 && len(data)%RecordSize == 0
		for i := 0; wellFormed && i < len(data); i += RecordSize {
			wellFormed = data[i] < NumClasses
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != "fuzz.bin" {
				t.Fatalf("error %v is not a *FormatError naming fuzz.bin", err)
			}
			if wellFormed {
				t.Fatalf("rejected a well-formed file of %d bytes: %v", len(data), err)
			}
			if fe.Record >= 0 && (fe.Record*RecordSize >= len(data) || data[fe.Record*RecordSize] < NumClasses) {
				t.Fatalf("error names record %d, which is not a record with a bad label", fe.Record)
			}
			return
		}
		if !wellFormed {
			t.Fatalf("accepted a malformed file of %d bytes", len(data))
		}
		if n := len(data) / RecordSize; s.Len() != n || len(s.Images) != n*ImageSize {
			t.Fatalf("got %d labels and %d image bytes, want %d and %d", s.Len(), len(s.Images), n, n*ImageSize)
		}
		if !bytes.Equal(Encode(s), data) {
			t.Fatal("Encode(ReadRecords(data)) differs from data")
		}
	})
}
