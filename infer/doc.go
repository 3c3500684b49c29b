// Package infer uses a tfcifar SavedModel export: Evaluate measures its
// accuracy on a split of CIFAR-10 and Predict classifies PNG and JPEG
// files, which it decodes and resizes to the model's input in TensorFlow
// (tfgo's image package) after checking their size and dimensions.
package infer
