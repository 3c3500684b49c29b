// Package h5 reads and writes the subset of HDF5 that h5py writes for
// Keras weights (model.weights.h5 inside a .keras archive), in pure Go and
// without cgo.
//
// Open reads superblock versions 0 and 1 with 8-byte offsets and lengths,
// version 1 object headers with their continuation blocks, old-style groups
// (a symbol table: a version 1 B-tree of symbol table nodes over a local
// heap), dataspaces, little-endian IEEE float32 and float64 datatypes, and
// compact or contiguous data layouts: what h5py writes with its default
// libver='earliest'. Anything else (version 2 object headers, link
// messages, chunked or filtered storage, integer or string datatypes) is
// refused with an error naming the dataset or group and what it is.
//
// Every file is untrusted: each read is checked against the file's size,
// a dataset is refused over MaxDatasetBytes or when its dimensions
// overflow, B-trees and continuation chains are walked at most once per
// node and at most maxDepth deep, so a hostile file costs bounded memory
// and time.
//
//	f, err := h5.Open("model.weights.h5")
//	d, err := f.Dataset("layers/dense/vars/0") // d.Shape [3200 128]
//	v, err := d.Float32()
//
// Writer builds a file of groups, float32 datasets and string attributes
// in the simplest layout of the format (superblock version 0, version 1
// object headers, symbol-table groups, contiguous data), which h5py and
// every HDF5 library read.
package h5
