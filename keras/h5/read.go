package h5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/internal/capped"
)

// Limits of the reader. A file asking for more is refused.
const (
	MaxDatasetBytes = 1 << 30 // bytes of one dataset's values
	maxRank         = 32      // dimensions of a dataspace (HDF5's own limit)
	maxDepth        = 32      // levels of groups in a path, and of a B-tree
	maxMembers      = 1 << 14 // members of one group
	maxMessages     = 1 << 12 // messages of one object header
	maxHeaderBlocks = 64      // continuation blocks of one object header
	maxNameBytes    = 1 << 12 // bytes of one link name
)

// signature starts every HDF5 file (at offset 0; user blocks are not read).
var signature = []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}

// undefined is the address HDF5 writes for "no address".
const undefined = math.MaxUint64

// File is an HDF5 file opened for reading. Its methods read the file at
// each call; they are not safe for concurrent use with Close.
type File struct {
	name string
	r    io.ReaderAt
	size uint64
	c    io.Closer // nil when the caller owns r

	base uint64 // base address all addresses are relative to
	root uint64 // object header address of the root group
}

// Open opens the HDF5 file name.
func Open(name string) (*File, error) {
	fh, st, err := capped.Open(name)
	if err != nil {
		return nil, fmt.Errorf("h5: %w", err)
	}
	f, err := NewReader(name, fh, st.Size())
	if err != nil {
		_ = fh.Close()
		return nil, err
	}
	f.c = fh
	return f, nil
}

// NewReader reads the HDF5 file of size bytes in r; name only labels
// errors. The caller keeps owning r.
func NewReader(name string, r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("h5: %s: negative size %d", name, size)
	}
	f := &File{name: name, r: r, size: uint64(size)}
	if err := f.superblock(); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the file opened by Open; it does nothing for NewReader's.
func (f *File) Close() error {
	if f.c == nil {
		return nil
	}
	return f.c.Close()
}

func (f *File) errorf(format string, args ...any) error {
	return fmt.Errorf("h5: %s: %s", f.name, fmt.Sprintf(format, args...))
}

// read returns n bytes at file address addr (relative to the base
// address), refusing what lies beyond the end of the file.
func (f *File) read(addr, n uint64, what string) ([]byte, error) {
	if addr == undefined {
		return nil, f.errorf("%s: undefined address", what)
	}
	abs := addr + f.base
	if abs < addr || n > f.size || abs > f.size-n {
		return nil, f.errorf("%s: %d bytes at offset %d lie beyond the end of the file (%d bytes); the file is truncated or corrupt", what, n, abs, f.size)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(abs)); err != nil && !errors.Is(err, io.EOF) {
		return nil, f.errorf("%s: %v", what, err)
	}
	return b, nil
}

// superblock reads the superblock at offset 0. Versions 0 and 1 (what h5py
// writes by default) are read with 8-byte offsets and lengths.
func (f *File) superblock() error {
	if sig, err := f.read(0, 8, "signature"); err != nil || !bytes.Equal(sig, signature) {
		return f.errorf("not an HDF5 file (no HDF5 signature at offset 0)")
	}
	b, err := f.read(0, 56+40, "superblock")
	if err != nil {
		return err
	}
	v := b[8]
	if v > 1 {
		return f.errorf("superblock version %d is not supported; want version 0 or 1 (h5py's default, libver='earliest')", v)
	}
	if b[13] != 8 || b[14] != 8 {
		return f.errorf("offsets of %d bytes and lengths of %d bytes are not supported; want 8 and 8", b[13], b[14])
	}
	off := 24
	if v == 1 {
		off += 4
		if b2, err := f.read(0, 56+4+40, "superblock"); err == nil {
			b = b2
		} else {
			return err
		}
	}
	f.base = le64(b[off:])
	if f.base > f.size {
		return f.errorf("base address %d is beyond the end of the file (%d bytes)", f.base, f.size)
	}
	entry := b[off+32:]
	f.root = le64(entry[8:])
	return nil
}

func le16(b []byte) uint64 { return uint64(binary.LittleEndian.Uint16(b)) }
func le32(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b)) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// message is one message of an object header.
type message struct {
	typ   uint16
	flags byte
	data  []byte
}

// Message types the reader understands.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgLayout       = 0x08
	msgLink         = 0x06
	msgFilters      = 0x0b
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
)

// header reads the messages of the version 1 object header at addr,
// following continuation blocks (each at most once).
func (f *File) header(addr uint64) ([]message, error) {
	h, err := f.read(addr, 16, "object header")
	if err != nil {
		return nil, err
	}
	if bytes.Equal(h[:4], []byte("OHDR")) {
		return nil, f.errorf("object header at %d: version 2 object headers are not supported (the file was written with libver='latest')", addr)
	}
	if h[0] != 1 {
		return nil, f.errorf("object header at %d: version %d is not supported; want 1", addr, h[0])
	}
	count := le16(h[2:])
	if count > maxMessages {
		return nil, f.errorf("object header at %d: %d messages, over the cap of %d", addr, count, maxMessages)
	}
	blocks := []block{{addr + 16, le32(h[8:])}}
	seen := map[uint64]bool{addr + 16: true}
	var msgs []message
	for len(blocks) > 0 {
		bl := blocks[0]
		blocks = blocks[1:]
		b, err := f.read(bl.addr, bl.size, "object header")
		if err != nil {
			return nil, err
		}
		more, err := f.messages(addr, b, &msgs)
		if err != nil {
			return nil, err
		}
		for _, next := range more {
			if seen[next.addr] {
				return nil, f.errorf("object header at %d: continuation blocks form a cycle", addr)
			}
			if len(seen) >= maxHeaderBlocks {
				return nil, f.errorf("object header at %d: over %d continuation blocks", addr, maxHeaderBlocks)
			}
			seen[next.addr] = true
			blocks = append(blocks, next)
		}
	}
	return msgs, nil
}

// block is a run of object header messages: where and how many bytes.
type block struct{ addr, size uint64 }

// messages appends the messages of the header block b (of the object
// header at addr) to msgs and returns the continuation blocks it names.
func (f *File) messages(addr uint64, b []byte, msgs *[]message) ([]block, error) {
	var more []block
	for len(b) >= 8 {
		typ, size, flags := uint16(le16(b)), le16(b[2:]), b[4]
		if size > uint64(len(b)-8) {
			return nil, f.errorf("object header at %d: message of %d bytes overruns its block", addr, size)
		}
		m := message{typ: typ, flags: flags, data: b[8 : 8+size]}
		b = b[8+size:]
		if len(*msgs) >= maxMessages {
			return nil, f.errorf("object header at %d: over %d messages", addr, maxMessages)
		}
		switch typ {
		case msgContinuation:
			if len(m.data) < 16 {
				return nil, f.errorf("object header at %d: short continuation message", addr)
			}
			more = append(more, block{le64(m.data), le64(m.data[8:])})
		case msgNil:
		default:
			*msgs = append(*msgs, m)
		}
	}
	return more, nil
}

// find returns the first message of type typ, or nil.
func find(msgs []message, typ uint16) *message {
	for i := range msgs {
		if msgs[i].typ == typ {
			return &msgs[i]
		}
	}
	return nil
}

// link is one member of a group: its name and object header address.
type link struct {
	name string
	addr uint64
}

// members returns the members of the group whose object header is at
// addr, sorted by name. path names the group in errors.
func (f *File) members(addr uint64, path string) ([]link, error) {
	msgs, err := f.header(addr)
	if err != nil {
		return nil, err
	}
	st := find(msgs, msgSymbolTable)
	if st == nil {
		if find(msgs, msgLink) != nil || find(msgs, msgLinkInfo) != nil {
			return nil, f.errorf("group %q: new-style groups (link messages) are not supported; want a symbol table (h5py's default)", path)
		}
		return nil, f.errorf("%q is not a group", path)
	}
	if len(st.data) < 16 {
		return nil, f.errorf("group %q: short symbol table message", path)
	}
	heap, err := f.localHeap(le64(st.data[8:]), path)
	if err != nil {
		return nil, err
	}
	var out []link
	if err := f.walkBTree(le64(st.data), heap, path, 0, map[uint64]bool{}, &out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b link) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// localHeap returns the data segment of the local heap at addr.
func (f *File) localHeap(addr uint64, path string) ([]byte, error) {
	h, err := f.read(addr, 32, "local heap")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(h[:4], []byte("HEAP")) {
		return nil, f.errorf("group %q: no local heap at %d", path, addr)
	}
	size := le64(h[8:])
	if size > 1<<24 {
		return nil, f.errorf("group %q: local heap of %d bytes, over the cap of %d", path, size, 1<<24)
	}
	return f.read(le64(h[24:]), size, "local heap data")
}

// walkBTree appends the symbol table entries under the version 1 group
// B-tree node at addr to out.
func (f *File) walkBTree(addr uint64, heap []byte, path string, depth int, seen map[uint64]bool, out *[]link) error {
	if depth > maxDepth {
		return f.errorf("group %q: B-tree deeper than %d levels", path, maxDepth)
	}
	if seen[addr] {
		return f.errorf("group %q: B-tree nodes form a cycle", path)
	}
	seen[addr] = true
	h, err := f.read(addr, 24, "B-tree node")
	if err != nil {
		return err
	}
	if !bytes.Equal(h[:4], []byte("TREE")) || h[4] != 0 {
		return f.errorf("group %q: no group B-tree node at %d", path, addr)
	}
	level, entries := h[5], le16(h[6:])
	if entries > maxMembers {
		return f.errorf("group %q: B-tree node with %d entries, over the cap of %d", path, entries, maxMembers)
	}
	b, err := f.read(addr+24, 8+entries*16, "B-tree node")
	if err != nil {
		return err
	}
	for i := range entries {
		child := le64(b[8+i*16:])
		if level > 0 {
			if err := f.walkBTree(child, heap, path, depth+1, seen, out); err != nil {
				return err
			}
			continue
		}
		if err := f.symbolNode(child, heap, path, out); err != nil {
			return err
		}
	}
	return nil
}

// symbolNode appends the entries of the symbol table node at addr to out.
func (f *File) symbolNode(addr uint64, heap []byte, path string, out *[]link) error {
	h, err := f.read(addr, 8, "symbol table node")
	if err != nil {
		return err
	}
	if !bytes.Equal(h[:4], []byte("SNOD")) {
		return f.errorf("group %q: no symbol table node at %d", path, addr)
	}
	n := le16(h[6:])
	if uint64(len(*out))+n > maxMembers {
		return f.errorf("group %q: over %d members", path, maxMembers)
	}
	b, err := f.read(addr+8, n*40, "symbol table node")
	if err != nil {
		return err
	}
	for i := range n {
		e := b[i*40:]
		name, err := heapString(heap, le64(e))
		if err != nil {
			return f.errorf("group %q: member %d: %v", path, i, err)
		}
		*out = append(*out, link{name: name, addr: le64(e[8:])})
	}
	return nil
}

// heapString returns the NUL-terminated string at off in a local heap.
func heapString(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", fmt.Errorf("name at offset %d beyond the local heap (%d bytes)", off, len(heap))
	}
	s := heap[off:]
	end := bytes.IndexByte(s, 0)
	if end < 0 || end > maxNameBytes {
		return "", fmt.Errorf("name at offset %d is not NUL-terminated within %d bytes", off, maxNameBytes)
	}
	return string(s[:end]), nil
}

// lookup returns the object header address of path ("a/b/c"; "" or "/" is
// the root group).
func (f *File) lookup(path string) (uint64, error) {
	addr := f.root
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(parts) > maxDepth {
		return 0, f.errorf("%q: deeper than %d levels", path, maxDepth)
	}
	for i, p := range parts {
		parent := strings.Join(parts[:i], "/")
		ms, err := f.members(addr, parent)
		if err != nil {
			return 0, err
		}
		j, ok := slices.BinarySearchFunc(ms, p, func(l link, name string) int { return strings.Compare(l.name, name) })
		if !ok {
			return 0, f.errorf("no %q in group %q", p, "/"+parent)
		}
		addr = ms[j].addr
	}
	return addr, nil
}

// Members returns the names of the members (groups and datasets) of the
// group at path, sorted.
func (f *File) Members(path string) ([]string, error) {
	addr, err := f.lookup(path)
	if err != nil {
		return nil, err
	}
	ms, err := f.members(addr, path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.name
	}
	return names, nil
}
