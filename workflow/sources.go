package workflow

import (
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/keras"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// sources reads the models a run reuses from outside it (from: savedmodel,
// from: keras) and keeps each Keras model it read, so that an archive is
// unzipped and its weights parsed once per run, not for every question a
// stage asks of it.
type sources struct {
	keras map[string]keras.Model // by path
}

func newSources() *sources { return &sources{keras: map[string]keras.Model{}} }

// network is the config.Loader for transfer networks whose source is a
// SavedModel (the network stored with the tfcifar export) or a Keras model
// (the network mapped from it).
func (s *sources) network(from config.Reuse) (config.Network, error) {
	if from.Keras != "" {
		m, err := s.kerasModel(from.Keras)
		return m.Network, err
	}
	m, err := savedmodel.ReadMeta(from.SavedModel)
	return m.Network, err
}

// kerasModel reads the Keras model at path, once.
func (s *sources) kerasModel(path string) (keras.Model, error) {
	if m, ok := s.keras[path]; ok {
		return m, nil
	}
	m, err := keras.Read(path)
	if err != nil {
		return keras.Model{}, err
	}
	s.keras[path] = m
	return m, nil
}
