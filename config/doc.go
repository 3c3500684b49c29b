// Package config is the typed configuration of a tfcifar run.
//
// A config is one YAML file (configs/transfer.yaml is the reference
// workflow, configs/reference.yaml documents every field) with three
// sections: data (where CIFAR-10 comes from and how it is split), run
// (output directory, seed, threads, device, progress) and stages (the
// networks to train in order, each with its classes, model, training and
// export settings).
//
// Load reads a file (or the embedded reference config), applies TFCIFAR_*
// environment overrides and "key=value" overrides, fills defaults, rejects
// unknown keys and validates everything before any TensorFlow work. A fresh
// viper per load holds the layers (defaults, file, environment, overrides,
// in rising precedence) and decodes them into Config; Load adds what viper
// lacks: list items addressed by index or stage name, defaults under the
// stages list, suggestions for unknown keys and variables, and size caps. Errors
// name the file, the stage, the layer index and name, the field and what was
// expected. Shapes are computed in pure Go (Network.Shapes), so a network
// that shrinks to nothing is caught here.
//
// A stage's model is a Network: an input shape [H W C] and a list of layers.
// A transfer network also names a source (From): an earlier stage of the
// same config or a SavedModel export whose stored network spec is read with
// ParseNetwork. Config.Resolve and Network.Reuse turn it into one flat list
// of layers, reused ones first, marked Reused and (unless fine-tuned)
// Frozen; that flat list is what package graph builds.
//
// Layer types live in one table (layers.go): a LayerType constant and one
// entry per type holding its YAML settings and their defaults, the
// validation of its settings, its output shape, its weights (and so its
// parameter count), its forward FLOPs, its Keras class and default-name
// prefix, whether it draws random numbers in training (then its output
// cannot be cached), whether it must precede every layer with weights (no
// gradient), and whether its weights are statistics no gradient trains.
// The preprocessing and augmentation types (rescaling, normalization,
// random_*) follow Keras' names and semantics (preprocessing.go). Validate, Shapes, Footprint, Cacheable, the summary's
// Keras names and the FLOPs estimate all read that table; package graph
// adds only the op builder of each type. The closed sets of names a layer
// setting takes are typed too: ActivationFunc, Padding, Initializer,
// FlipMode and FillMode.
//
// The package does not import TensorFlow.
package config
