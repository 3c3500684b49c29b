// Package cifartest provides CIFAR-10 fixtures for the tests of packages
// that use package cifar: the ten class names, small datasets written in
// the CIFAR-10 binary format with cifar.Save, and the location of the real
// CIFAR-10 files.
//
// The real files are found as tfcifar finds them: through the environment
// variable TFCIFAR_DATA (make test DATA=DIR sets it), else in the user cache
// (~/.cache/tfcifar/cifar-10-batches-bin), else downloaded there, checked
// against the official MD5 sum. They are never part of the repository.
//
// Package cifar's own tests cannot import cifartest (it imports cifar);
// they keep their fixtures in cifar/fixture_test.go.
package cifartest
