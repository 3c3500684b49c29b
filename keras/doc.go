// Package keras moves tfcifar models to and from Keras 3's .keras format.
//
// Export writes a tfcifar SavedModel export (savedmodel.Variables: its
// network spec, pixel scale and weights) as a .keras archive that
// keras.models.load_model opens: metadata.json, config.json (a Sequential
// model of the Keras layers matching the network's) and model.weights.h5
// (written by package h5), so that Keras predicts on raw 0-255 pixels what
// the export's serving signature does.
package keras
