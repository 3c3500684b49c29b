// Package cifartest provides CIFAR-10 fixtures for the tests of packages
// that use package cifar: the ten class names, small datasets written in
// the CIFAR-10 binary format with cifar.Save, and the location of the real
// CIFAR-10 files.
//
// The real files are found through the environment variable TFCIFAR_DATA,
// or else at ../shared/data/cifar-10-batches-bin beside the module root
// (the directory of go.mod). They are never part of the repository.
//
// Package cifar's own tests cannot import cifartest (it imports cifar);
// they keep their fixtures in cifar/fixture_test.go.
package cifartest
