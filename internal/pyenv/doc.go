// Package pyenv gives tests the Python of the project's virtualenv
// (TensorFlow, Keras, h5py, TensorBoard; made by scripts/setup-python.sh)
// to check tfcifar's files against the Python tools that read them.
package pyenv
