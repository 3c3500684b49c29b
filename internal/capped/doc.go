// Package capped reads files whose size tfcifar bounds before reading them:
// model assets, saved_model.pb and images given to predict. A file that is
// not a regular file (a device such as /dev/zero, a FIFO, a directory) or
// that holds more than the cap is refused with an error naming it and the
// cap, without reading it whole.
package capped
