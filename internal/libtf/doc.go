// Package libtf checks the TensorFlow C library (libtensorflow) that tfcifar
// is linked against.
//
// tfcifar is built and tested against libtensorflow 2.21.0 (CPU), installed by
// scripts/install-libtensorflow.sh. Check reports a clear error when the
// library found at run time reports another version.
package libtf
