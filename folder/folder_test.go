package folder

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "golang.org/x/image/bmp"

	"github.com/tfcifar/tfcifar/internal/foldertest"
)

// write writes a synthetic folder of k classes and n images per class.
func write(t *testing.T, k, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	if err := foldertest.Write(dir, k, n, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadAndCache(t *testing.T) {
	dir := write(t, 3, 12)
	if err := os.WriteFile(filepath.Join(dir, "red_disc", "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := Options{Height: 16, Width: 12, CacheDir: t.TempDir()}
	f, err := Load(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := foldertest.Classes[:3]; !slices.Equal(f.Set.Classes, want) {
		t.Errorf("classes %v, want the sorted folder names %v", f.Set.Classes, want)
	}
	if f.Set.Len() != 36 || f.Decoded != 36 || f.Cached {
		t.Errorf("first load: %d images, %d decoded, cached %v; want 36, 36, false", f.Set.Len(), f.Decoded, f.Cached)
	}
	if got := f.Set.ImageShape(); got != [3]int{16, 12, 3} || len(f.Set.Images) != 36*16*12*3 {
		t.Errorf("shape %v, %d bytes; want [16 12 3], %d", got, len(f.Set.Images), 36*16*12*3)
	}
	if f.Files[0] != "blue_square/img000.png" || f.Files[12] != "green_ring/img000.png" || f.Set.Labels[12] != 1 {
		t.Errorf("files %v... labels %v: want class by class, sorted", f.Files[:2], f.Set.Labels)
	}
	if !slices.IsSorted(f.Files) {
		t.Errorf("files not in sorted order: %v", f.Files)
	}

	again, err := Load(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Decoded != 0 {
		t.Errorf("second load: cached %v, %d decoded; want from the cache, none decoded", again.Cached, again.Decoded)
	}
	if !bytes.Equal(again.Set.Images, f.Set.Images) || !bytes.Equal(again.Set.Labels, f.Set.Labels) || !slices.Equal(again.Files, f.Files) {
		t.Error("cached images, labels or files differ from the decoded ones")
	}

	// A changed file misses the cache; so does another size.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "red_disc", "img003.bmp"), later, later); err != nil {
		t.Fatal(err)
	}
	changed, err := Load(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Cached || changed.Decoded != 36 {
		t.Errorf("after touching a file: cached %v, %d decoded; want all decoded again", changed.Cached, changed.Decoded)
	}
	opt.Width = 16
	if other, err := Load(context.Background(), dir, opt); err != nil || other.Cached {
		t.Errorf("another size: cached %v, err %v; want decoded", other != nil && other.Cached, err)
	}
}

func TestDamagedCacheIsDecodedAgain(t *testing.T) {
	dir := write(t, 2, 5)
	cacheDir := t.TempDir()
	var log bytes.Buffer
	opt := Options{Height: 8, Width: 8, CacheDir: cacheDir, Log: &log}
	first, err := Load(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cacheDir, "folders", "*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(files[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if f.Cached || f.Decoded != 10 || !bytes.Equal(f.Set.Images, first.Set.Images) {
		t.Errorf("damaged cache: cached %v, %d decoded; want all decoded again, same images", f.Cached, f.Decoded)
	}
	if !strings.Contains(log.String(), "checksum mismatch") {
		t.Errorf("log %q does not say the cache was damaged", log.String())
	}
}

func TestPixels(t *testing.T) {
	// A solid image stays solid whatever the format and resize: every
	// pixel is the colour Go decodes from the file (GIF: its palette's),
	// JPEG and rounding within a few levels.
	dir := t.TempDir()
	want := map[string][3]int{}
	for c, class := range []string{"a", "b"} {
		img := foldertest.Draw(0, 30, 20, nil)
		for i := range img.Pix {
			img.Pix[i] = []uint8{200, 10, 90, 255}[i%4]
			if c == 1 && i%4 != 3 {
				img.Pix[i] = 255 - img.Pix[i]
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, ext := range foldertest.Formats {
			b, err := foldertest.Encode(img, ext)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, class, "x"+ext), b, 0o644); err != nil {
				t.Fatal(err)
			}
			dec, _, err := image.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			r, g, bl, _ := dec.At(0, 0).RGBA()
			want[class+"/x"+ext] = [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
		}
	}
	f, err := Load(context.Background(), dir, Options{Height: 7, Width: 9})
	if err != nil {
		t.Fatal(err)
	}
	if f.Set.Len() != 2*len(foldertest.Formats) {
		t.Fatalf("%d images, want %d", f.Set.Len(), 2*len(foldertest.Formats))
	}
	for i := range f.Set.Len() {
		w := want[f.Files[i]]
		for p, v := range f.Set.Image(i) {
			if d := int(v) - w[p%3]; d < -3 || d > 3 {
				t.Fatalf("%s: pixel value %d at %d, want %d", f.Files[i], v, p, w[p%3])
			}
		}
	}
}

func TestSplitDeterministic(t *testing.T) {
	dir := write(t, 2, 25)
	f, err := Load(context.Background(), dir, Options{Height: 8, Width: 8})
	if err != nil {
		t.Fatal(err)
	}
	tr, val, err := Split(f.Set, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 40 || val.Len() != 10 {
		t.Fatalf("split of 50 at 0.2: %d and %d images, want 40 and 10", tr.Len(), val.Len())
	}
	tr2, val2, err := Split(f.Set, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tr.Images, tr2.Images) || !bytes.Equal(val.Labels, val2.Labels) || !bytes.Equal(val.Images, val2.Images) {
		t.Error("the same seed gave another split")
	}
	_, val3, err := Split(f.Set, 0.2, 8)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(val.Images, val3.Images) {
		t.Error("another seed gave the same split")
	}
	if val.ImageShape() != f.Set.ImageShape() || !slices.Equal(val.Classes, f.Set.Classes) {
		t.Errorf("split lost the shape or classes: %v %v", val.ImageShape(), val.Classes)
	}
	if _, none, err := Split(f.Set, 0, 1); err != nil || none.Len() != 0 {
		t.Errorf("fraction 0: %v, %v; want an empty validation set", none.Len(), err)
	}
	if _, _, err := Split(f.Set, 1, 1); err == nil {
		t.Error("fraction 1: no error")
	}
}

// badFolder writes two good classes and, in class "bad", the named files.
func badFolder(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := write(t, 2, 3)
	if err := os.MkdirAll(filepath.Join(dir, "bad"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, "bad", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func goodPNG(t *testing.T) []byte {
	t.Helper()
	b, err := foldertest.Encode(foldertest.Draw(2, 20, 20, nil), ".png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadErrors(t *testing.T) {
	png := goodPNG(t)
	cases := []struct {
		name  string
		dir   func(t *testing.T) string
		wants []string
	}{
		{"no class folders", func(t *testing.T) string { return t.TempDir() }, []string{"has 0 class folders, want at least 2"}},
		{"empty class folder", func(t *testing.T) string {
			dir := write(t, 2, 3)
			if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"class folder", "empty holds no image files"}},
		{"truncated PNG", func(t *testing.T) string {
			return badFolder(t, map[string][]byte{"ok.png": png, "cut.png": png[:len(png)/2]})
		}, []string{"bad/cut.png", "not a PNG, JPEG, GIF or BMP image", "skip_bad"}},
		{"text named .jpg", func(t *testing.T) string {
			return badFolder(t, map[string][]byte{"ok.png": png, "text.jpg": []byte("just some words\n")})
		}, []string{"bad/text.jpg", "not a PNG, JPEG, GIF or BMP image"}},
		{"20000 x 20000 header", func(t *testing.T) string {
			return badFolder(t, map[string][]byte{"ok.png": png, "huge.png": foldertest.HugePNG(20000, 20000)})
		}, []string{"bad/huge.png", "image of 20000 x 20000 pixels; want at most 16777216 pixels"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), tc.dir(t), Options{Height: 8, Width: 8, CacheDir: t.TempDir()})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSkipBad(t *testing.T) {
	png := goodPNG(t)
	dir := badFolder(t, map[string][]byte{
		"ok.png": png, "cut.png": png[:len(png)/2], "text.jpg": []byte("words"), "huge.png": foldertest.HugePNG(20000, 20000),
	})
	cacheDir := t.TempDir()
	for _, pass := range []string{"decoded", "cached"} {
		f, err := Load(context.Background(), dir, Options{Height: 8, Width: 8, CacheDir: cacheDir, SkipBad: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Skipped) != 3 || f.Set.Len() != 7 || len(f.Files) != 7 || f.Cached != (pass == "cached") {
			t.Errorf("%s: %d skipped, %d images, cached %v; want 3, 7", pass, len(f.Skipped), f.Set.Len(), f.Cached)
		}
		if !slices.Contains(f.Files, "bad/ok.png") {
			t.Errorf("%s: files %v lack the good file of the bad class", pass, f.Files)
		}
	}
	// Without skip_bad the cached result still fails, naming the files.
	_, err := Load(context.Background(), dir, Options{Height: 8, Width: 8, CacheDir: cacheDir})
	if err == nil || !strings.Contains(err.Error(), "3 files of") || !strings.Contains(err.Error(), "bad/cut.png") {
		t.Errorf("cached bad files without skip_bad: %v", err)
	}
}

func TestLoadCancelled(t *testing.T) {
	dir := write(t, 2, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cacheDir := t.TempDir()
	if _, err := Load(ctx, dir, Options{Height: 8, Width: 8, CacheDir: cacheDir}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: %v, want context.Canceled", err)
	}
	if files, _ := filepath.Glob(filepath.Join(cacheDir, "folders", "*")); len(files) != 0 {
		t.Errorf("a cancelled load left cache files %v", files)
	}
}
