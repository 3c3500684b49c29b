package folder

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/capped"
)

// cacheMagic starts every cache file; its number changes with the format
// or with how images are decoded.
const cacheMagic = "tfcifar folder cache 1\n"

// maxHeader caps the JSON header of a cache file (file names and errors).
const maxHeader = 256 << 20

// cache is the cache file of one folder at one image size: its path
// depends on the folder and size, its key on every file's path, size and
// modification time, so a changed folder misses and is cached anew in
// the same file.
type cache struct {
	path string // "" : no cache
	key  string
	size int // bytes of one image
}

// header is the JSON part of a cache file.
type header struct {
	Key     string   `json:"key"`
	Shape   [3]int   `json:"shape"`
	Classes []string `json:"classes"`
	Files   []string `json:"files"`
	Skipped []string `json:"skipped"`
}

// newCache returns the cache of the files of dir at opt's size.
func newCache(dir string, files []File, opt Options) *cache {
	c := &cache{size: opt.Height * opt.Width * 3}
	if opt.CacheDir == "" {
		return c
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return c
	}
	name := sha256.Sum256(fmt.Appendf(nil, "%s%q %d %d", cacheMagic, abs, opt.Height, opt.Width))
	c.path = filepath.Join(opt.CacheDir, "folders", hex.EncodeToString(name[:12])+".bin")
	h := sha256.New()
	fmt.Fprintf(h, "%s%q %d %d\n", cacheMagic, abs, opt.Height, opt.Width)
	for _, f := range files {
		fmt.Fprintf(h, "%d %q %d %d\n", f.Label, f.Path, f.Size, f.ModTime.UnixNano())
	}
	c.key = hex.EncodeToString(h.Sum(nil))
	return c
}

// read returns the cached Folder, nil when there is none or it is of
// other files, or an error when the cache file is damaged.
func (c *cache) read(classes []string) (*Folder, error) {
	if c.path == "" {
		return nil, nil
	}
	fi, err := os.Stat(c.path)
	if err != nil {
		return nil, nil //nolint:nilerr // no cache yet
	}
	if fi.Size() > MaxSetBytes+maxHeader+1<<20 {
		return nil, fmt.Errorf("%s: %s, larger than any cache", c.path, capped.Size(fi.Size()))
	}
	b, err := capped.ReadFile(c.path, fi.Size())
	if err != nil {
		return nil, err
	}
	h, images, labels, err := c.parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	if h.Key != c.key || !slices.Equal(h.Classes, classes) {
		return nil, nil // other files: decode and replace
	}
	f := &Folder{Set: &cifar.Set{Images: images, Labels: labels, Classes: classes, Shape: h.Shape}, Files: h.Files, Cached: true}
	for _, s := range h.Skipped {
		f.Skipped = append(f.Skipped, errors.New(s))
	}
	return f, f.Set.Check()
}

// parse checks the checksum and layout of a cache file's bytes b and
// returns its parts.
func (c *cache) parse(b []byte) (h header, images, labels []byte, err error) {
	bad := func(why string) error { return fmt.Errorf("damaged cache file: %s", why) }
	if len(b) < len(cacheMagic)+8+sha256.Size || string(b[:len(cacheMagic)]) != cacheMagic {
		return h, nil, nil, bad("no cache header")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return h, nil, nil, bad("checksum mismatch")
	}
	rest := body[len(cacheMagic):]
	n := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if n > uint64(len(rest)) || n > maxHeader {
		return h, nil, nil, bad("header size")
	}
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return h, nil, nil, bad(err.Error())
	}
	rest = rest[n:]
	k := len(h.Files)
	if h.Shape[0]*h.Shape[1]*h.Shape[2] != c.size || len(rest) != k*(1+c.size) {
		return h, nil, nil, bad(fmt.Sprintf("%d bytes for %d images of %v", len(rest), k, h.Shape))
	}
	labels, images = rest[:k:k], rest[k:]
	for _, l := range labels {
		if int(l) >= len(h.Classes) {
			return h, nil, nil, bad(fmt.Sprintf("label %d of %d classes", l, len(h.Classes)))
		}
	}
	return h, images, labels, nil
}

// write caches f (atomically: the old cache stays until the new one is
// complete).
func (c *cache) write(f *Folder) error {
	if c.path == "" {
		return nil
	}
	h := header{Key: c.key, Shape: f.Set.ImageShape(), Classes: f.Set.Classes, Files: f.Files}
	for _, err := range f.Skipped {
		h.Skipped = append(h.Skipped, err.Error())
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(c.path, func(w io.Writer) error {
		sum := sha256.New()
		bw := bufio.NewWriter(io.MultiWriter(w, sum))
		_, _ = bw.WriteString(cacheMagic)
		_ = binary.Write(bw, binary.LittleEndian, uint64(len(js)))
		_, _ = bw.Write(js)
		_, _ = bw.Write(f.Set.Labels)
		_, _ = bw.Write(f.Set.Images)
		if err := bw.Flush(); err != nil { // the first write error
			return err
		}
		_, err := w.Write(sum.Sum(nil))
		return err
	})
}
