// Package capped reads files whose size tfcifar bounds before reading them.
// ReadFile reads regular files (model assets, saved_model.pb, images given
// to predict) and refuses any other kind (a device such as /dev/zero, a
// FIFO, a directory); ReadStream reads config files, which may also be
// pipes. A file that holds more than the cap is refused with an error
// naming it and the cap, without reading it whole. The package builds
// without cgo.
package capped
