// Package infer uses a tfcifar SavedModel export: Evaluate measures its
// loss, accuracy and confusion matrix (package confusion derives the
// per-class metrics) on a split of CIFAR-10 and Predict classifies PNG and JPEG
// files. Predict checks a file's size and, from its header, its dimensions
// before decoding it in TensorFlow as a tfgo image and resizing it to the
// model's input (bilinear, pixel centers aligned). tfgo panics on graph
// errors; the one function that calls it recovers and returns an error.
package infer
