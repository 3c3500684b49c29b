package config

import "slices"

// The names each closed setting accepts. Each call returns a fresh copy,
// so a caller cannot change what Validate accepts.

// Activations returns the names an activation setting accepts.
func Activations() []ActivationFunc { return slices.Clone(activations) }

// Initializers returns the names kernel_initializer and bias_initializer
// accept.
func Initializers() []Initializer { return slices.Clone(initializers) }

// Paddings returns the names padding accepts.
func Paddings() []Padding { return slices.Clone(paddings) }

// Splits returns the names data.split accepts.
func Splits() []string { return slices.Clone(splits) }

// Precisions returns the names run.precision accepts.
func Precisions() []string { return slices.Clone(precisions) }

// Progresses returns the names run.progress accepts.
func Progresses() []string { return slices.Clone(progresses) }

// Optimizers returns the names optimizer.name accepts.
func Optimizers() []string { return slices.Clone(optimizers) }

// Schedules returns the names schedule.name accepts.
func Schedules() []string { return slices.Clone(schedules) }

// ReservedNames returns the names the graph, trainer and export give their
// own nodes, which no layer may take.
func ReservedNames() []string { return slices.Clone(reservedNames) }

// OtherEnv returns the TFCIFAR_ environment variables that are not config
// overrides (test data, Python virtualenv, libtensorflow prefixes, the CUDA
// build's tests, reference test length, TensorFlow's own logging); Load leaves them alone and
// refuses any other TFCIFAR_ variable that names no config key.
func OtherEnv() []string { return slices.Clone(otherEnv) }

// The device kinds of run.device (ParseDevice) and the optimizers of
// optimizer.name.
const (
	CPU  = "cpu"
	GPU  = "gpu"
	Auto = "auto"
	Adam = "adam"
	SGD  = "sgd"
)

// plainValue is what checkFloat calls a number with no more specific name.
const plainValue = "value"
