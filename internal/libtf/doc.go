// Package libtf checks the TensorFlow C library (libtensorflow) that tfcifar
// is linked against, and keeps TensorFlow's own log lines out of a binary's
// output.
//
// tfcifar is built and tested against libtensorflow 2.21.0 (CPU), installed by
// scripts/install-libtensorflow.sh. Check reports a clear error when the
// library found at run time reports another version.
//
// A binary that imports libtf hides TensorFlow's informational and warning
// lines, those printed while the library loads included, unless
// TFCIFAR_TF_LOG=1 (LogEnv) or a -tf-log flag asks for them; see log.go for
// how and why this happens before the program starts.
package libtf
