// Package h5 handles HDF5 files, the format of Keras weights
// (model.weights.h5), in pure Go.
//
// Writer builds a file of groups, float32 datasets and string attributes
// in the simplest layout of the format (superblock version 0, version 1
// object headers, symbol-table groups, contiguous data), which h5py and
// every HDF5 library read.
package h5
