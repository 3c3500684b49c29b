package keras

import (
	"fmt"
	"os"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// Model is a Keras model read as a tfcifar network: its name, the network
// (named and validated, every layer as Keras built it) and the values of
// its variables, keyed as tfcifar's graph names them (conv2d/kernel).
type Model struct {
	Name    string
	Network config.Network
	Weights graph.Weights
}

// Read reads the Keras model at path: a Keras 3 archive (a file, as
// model.save("m.keras") writes it) or a TF2 SavedModel directory written by
// Keras (model.export(dir)). Errors name path and, where one is at fault,
// the layer and its Keras class (or the op of a SavedModel).
func Read(path string) (Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Model{}, fmt.Errorf("keras: %w", err)
	}
	read := readArchive
	if st.IsDir() {
		read = readSavedModel
	}
	m, err := read(path)
	if err != nil {
		return Model{}, fmt.Errorf("keras: %w", err)
	}
	return m, nil
}
