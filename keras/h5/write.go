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
)

// Writer builds an HDF5 file in memory: a tree of groups holding float32
// datasets and string attributes, written by WriteTo in the oldest layout
// of the format (superblock version 0, version 1 object headers, groups as
// symbol tables indexed by a version 1 B-tree with a local heap for their
// names, contiguous little-endian data), which every HDF5 library reads.
// The zero value is not usable; NewWriter makes one.
type Writer struct {
	root *WriteGroup
}

// WriteGroup is a group of a Writer's file.
type WriteGroup struct {
	attrs    []writeAttr
	children map[string]writeObject
}

// writeObject is a group or a dataset of a file being written.
type writeObject interface{}

// writeDataset is a float32 dataset of a file being written.
type writeDataset struct {
	shape []uint64
	data  []float32
}

// writeAttr is a string attribute.
type writeAttr struct{ name, value string }

// Limits of what a Writer writes.
const (
	// MaxGroupEntries is the most entries a group may hold: one B-tree
	// node of symbol table nodes (2*16 nodes of 2*4 entries).
	MaxGroupEntries = 2 * groupInternalK * 2 * groupLeafK
	// MaxNameBytes is the longest name of a group, dataset or attribute.
	MaxNameBytes = 1024
	// MaxRank is the most dimensions of a dataset.
	MaxRank = 32
)

// NewWriter returns a Writer of an empty file.
func NewWriter() *Writer { return &Writer{root: newWriteGroup()} }

// Root returns the root group of the file.
func (w *Writer) Root() *WriteGroup { return w.root }

func newWriteGroup() *WriteGroup { return &WriteGroup{children: map[string]writeObject{}} }

// checkWriteName checks a link or attribute name.
func checkWriteName(name string) error {
	switch {
	case name == "", name == ".":
		return fmt.Errorf("h5: name %q: want a non-empty name", name)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("h5: name %.20q...: longer than %d bytes", name, MaxNameBytes)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("h5: name %q: want no '/' or NUL", name)
	}
	return nil
}

// Group returns the child group called name, adding it if g has no child
// of that name. It fails when name is not a valid link name, when it names
// a dataset, or when g is full (MaxGroupEntries).
func (g *WriteGroup) Group(name string) (*WriteGroup, error) {
	if err := g.canAdd(name); err != nil {
		if c, ok := g.children[name].(*WriteGroup); ok {
			return c, nil
		}
		return nil, err
	}
	c := newWriteGroup()
	g.children[name] = c
	return c, nil
}

// canAdd checks that g may take a new child called name.
func (g *WriteGroup) canAdd(name string) error {
	if err := checkWriteName(name); err != nil {
		return err
	}
	if _, ok := g.children[name]; ok {
		return fmt.Errorf("h5: %q already exists", name)
	}
	if len(g.children) >= MaxGroupEntries {
		return fmt.Errorf("h5: %q: a group holds at most %d entries", name, MaxGroupEntries)
	}
	return nil
}

// Float32 adds a dataset called name of the given shape (row-major, at
// most MaxRank dimensions, none zero) holding data, which must have as
// many values as the shape. The Writer keeps data until WriteTo: the
// caller must not change it meanwhile.
func (g *WriteGroup) Float32(name string, shape []int, data []float32) error {
	if err := g.canAdd(name); err != nil {
		return err
	}
	if len(shape) == 0 || len(shape) > MaxRank {
		return fmt.Errorf("h5: dataset %q: want 1 to %d dimensions, got %v", name, MaxRank, shape)
	}
	n := uint64(1)
	dims := make([]uint64, len(shape))
	for i, d := range shape {
		if d <= 0 {
			return fmt.Errorf("h5: dataset %q: want positive dimensions, got %v", name, shape)
		}
		dims[i] = uint64(d)
		if n > math.MaxInt/uint64(d) {
			return fmt.Errorf("h5: dataset %q: shape %v holds too many values", name, shape)
		}
		n *= uint64(d)
	}
	if uint64(len(data)) != n {
		return fmt.Errorf("h5: dataset %q: shape %v wants %d values, got %d", name, shape, n, len(data))
	}
	g.children[name] = &writeDataset{shape: dims, data: data}
	return nil
}

// SetString sets the attribute name of g to an ASCII or UTF-8 string
// (stored fixed-length, NUL-terminated, so it may hold no NUL).
func (g *WriteGroup) SetString(name, value string) error {
	if err := checkWriteName(name); err != nil {
		return err
	}
	if len(value) > math.MaxUint16-1 || strings.ContainsRune(value, 0) {
		return fmt.Errorf("h5: attribute %q: want a string without NUL of at most %d bytes", name, math.MaxUint16-1)
	}
	for i, a := range g.attrs {
		if a.name == name {
			g.attrs[i].value = value
			return nil
		}
	}
	if len(g.attrs) >= maxAttrs {
		return fmt.Errorf("h5: attribute %q: a group holds at most %d attributes", name, maxAttrs)
	}
	g.attrs = append(g.attrs, writeAttr{name, value})
	return nil
}

// Format constants of the file layout WriteTo writes.
const (
	groupLeafK     = 4  // symbol table node holds 2K entries
	groupInternalK = 16 // B-tree node holds 2K children
	maxAttrs       = 64 // keeps an object header under its 64 KiB message limit
	superblockSize = 96
	entrySize      = 40 // symbol table entry: name offset, header address, cache type, scratch pad
	undefAddr      = math.MaxUint64

	// Message types the writer adds to those the reader knows.
	msgFillValue = 0x0005
	msgAttribute = 0x000C
)

// file is the byte image WriteTo builds; addresses are offsets into it.
type file struct{ bytes.Buffer }

// alloc appends b at the next 8-byte boundary and returns its address.
func (f *file) alloc(b []byte) uint64 {
	for f.Len()%8 != 0 {
		f.WriteByte(0)
	}
	addr := uint64(f.Len())
	f.Write(b)
	return addr
}

// le is a little-endian byte builder.
type le []byte

func (b le) u8(v uint8) le   { return append(b, v) }
func (b le) u16(v uint16) le { return binary.LittleEndian.AppendUint16(b, v) }
func (b le) u32(v uint32) le { return binary.LittleEndian.AppendUint32(b, v) }
func (b le) u64(v uint64) le { return binary.LittleEndian.AppendUint64(b, v) }
func (b le) pad8() le {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// WriteTo writes the file to out and returns the number of bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	f := &file{}
	f.Write(make([]byte, superblockSize))
	root, err := f.group(w.root)
	if err != nil {
		return 0, err
	}
	b := f.Bytes()
	sb := le([]byte("\x89HDF\r\n\x1a\n")).
		u8(0).u8(0).u8(0).u8(0). // superblock, free space, root entry versions; reserved
		u8(0).u8(8).u8(8).u8(0). // shared header version; offset and length sizes; reserved
		u16(groupLeafK).u16(groupInternalK).u32(0).
		u64(0).u64(undefAddr).u64(uint64(len(b))).u64(undefAddr) // base, free space, end of file, driver
	sb = append(sb, root...)
	copy(b, sb)
	n, err := out.Write(b)
	return int64(n), err
}

// groupEntry returns the symbol table entry of a group whose object header
// is at hdr, caching its B-tree and heap addresses as the root entry must.
func groupEntry(nameOff, hdr, tree, heap uint64) le {
	return le(nil).u64(nameOff).u64(hdr).u32(1).u32(0).u64(tree).u64(heap)
}

// group writes g and everything under it and returns its symbol table
// entry (with name offset 0).
func (f *file) group(g *WriteGroup) (le, error) {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range g.children {
			if !yield(n) {
				return
			}
		}
	})
	// Children first: the group's nodes hold their addresses.
	entries := make([]le, len(names))
	heapData := le(nil).u64(0) // offset 0: the empty name
	for i, name := range names {
		off := uint64(len(heapData))
		heapData = append(append(heapData, name...), 0).pad8()
		var e le
		switch c := g.children[name].(type) {
		case *WriteGroup:
			sub, err := f.group(c)
			if err != nil {
				return nil, err
			}
			e = append(le(nil).u64(off), sub[8:]...)
		case *writeDataset:
			hdr, err := f.dataset(c)
			if err != nil {
				return nil, err
			}
			e = le(nil).u64(off).u64(hdr).u32(0).u32(0).u64(0).u64(0)
		}
		entries[i] = e
	}
	heapAddr := f.localHeap(heapData)
	tree := f.btree(entries)
	msgs := []outMessage{{msgSymbolTable, le(nil).u64(tree).u64(heapAddr)}}
	for _, a := range g.attrs {
		msgs = append(msgs, outMessage{msgAttribute, attribute(a)})
	}
	hdr, err := f.objectHeader(msgs)
	if err != nil {
		return nil, err
	}
	return groupEntry(0, hdr, tree, heapAddr), nil
}

// localHeap writes a local heap holding data and returns its address.
func (f *file) localHeap(data le) uint64 {
	dataAddr := f.alloc(data)
	hdr := le([]byte("HEAP")).u8(0).u8(0).u8(0).u8(0).
		u64(uint64(len(data))).u64(1).u64(dataAddr) // free list offset 1: no free block
	return f.alloc(hdr)
}

// btree writes the symbol table nodes of entries (sorted by name, each
// with its name's heap offset first) and the one B-tree leaf indexing
// them, and returns the B-tree's address.
func (f *file) btree(entries []le) uint64 {
	const perNode = 2 * groupLeafK
	var children []uint64
	keys := []uint64{0} // the empty name sorts before every name
	for start := 0; start < len(entries); start += perNode {
		chunk := entries[start:min(start+perNode, len(entries))]
		node := le([]byte("SNOD")).u8(1).u8(0).u16(uint16(len(chunk)))
		for _, e := range chunk {
			node = append(node, e...)
		}
		node = append(node, make([]byte, (perNode-len(chunk))*entrySize)...)
		children = append(children, f.alloc(node))
		// The key after a child is the name of its last entry.
		keys = append(keys, binary.LittleEndian.Uint64(chunk[len(chunk)-1]))
	}
	node := le([]byte("TREE")).u8(0).u8(0).u16(uint16(len(children))).u64(undefAddr).u64(undefAddr)
	for i, c := range children {
		node = node.u64(keys[i]).u64(c)
	}
	node = node.u64(keys[len(children)])
	// Readers read the node at its full size: 2K children and 2K+1 keys.
	full := 24 + (2*groupInternalK)*8 + (2*groupInternalK+1)*8
	node = append(node, make([]byte, full-len(node))...)
	return f.alloc(node)
}

// outMessage is one object header message to write.
type outMessage struct {
	kind uint16
	data le
}

// objectHeader writes a version 1 object header holding msgs and returns
// its address.
func (f *file) objectHeader(msgs []outMessage) (uint64, error) {
	var body le
	for _, m := range msgs {
		d := m.data.pad8()
		if len(d) > math.MaxUint16 {
			return 0, errors.New("h5: an object header message is over 64 KiB")
		}
		body = body.u16(m.kind).u16(uint16(len(d))).u8(0).u8(0).u8(0).u8(0)
		body = append(body, d...)
	}
	hdr := le(nil).u8(1).u8(0).u16(uint16(len(msgs))).u32(1).u32(uint32(len(body))).u32(0)
	return f.alloc(append(hdr, body...)), nil
}

// dataset writes d's values and object header and returns its address.
func (f *file) dataset(d *writeDataset) (uint64, error) {
	raw := make(le, 0, 4*len(d.data))
	for _, v := range d.data {
		raw = raw.u32(math.Float32bits(v))
	}
	addr := f.alloc(raw)
	return f.objectHeader([]outMessage{
		{msgDataspace, dataspaceMessage(d.shape)},
		{msgDatatype, float32Type()},
		// Fill value version 2: allocated early, never written, undefined.
		{msgFillValue, le(nil).u8(2).u8(1).u8(1).u8(0)},
		// Layout version 3, contiguous: address and size.
		{msgLayout, le(nil).u8(3).u8(1).u64(addr).u64(uint64(len(raw)))},
	})
}

// dataspaceMessage is a version 1 dataspace message of dims (none: a scalar).
func dataspaceMessage(dims []uint64) le {
	b := le(nil).u8(1).u8(uint8(len(dims))).u8(0).u8(0).u32(0)
	for _, d := range dims {
		b = b.u64(d)
	}
	return b
}

// float32Type is the datatype message of IEEE 754 little-endian float32.
func float32Type() le {
	return le(nil).u8(0x11). // version 1, floating point
					u8(0x20).u8(31).u8(0). // little-endian, implied mantissa bit; sign at bit 31
					u32(4).
					u16(0).u16(32).            // bit offset, precision
					u8(23).u8(8).u8(0).u8(23). // exponent at 23, 8 bits; mantissa at 0, 23 bits
					u32(127)                   // exponent bias
}

// stringType is the datatype message of a NUL-terminated UTF-8 string of
// size bytes.
func stringType(size int) le {
	return le(nil).u8(0x13).u8(0x10).u8(0).u8(0).u32(uint32(size))
}

// attribute is a version 1 attribute message holding a scalar string.
func attribute(a writeAttr) le {
	name := append([]byte(a.name), 0)
	typ, space := stringType(len(a.value)+1), dataspaceMessage(nil)
	b := le(nil).u8(1).u8(0).u16(uint16(len(name))).u16(uint16(len(typ))).u16(uint16(len(space)))
	b = append(b, name...)
	b = append(b.pad8(), typ...)
	b = append(b.pad8(), space...)
	b = append(b.pad8(), a.value...)
	return append(b, 0)
}
