// Package infer uses a tfcifar SavedModel export: Evaluate measures its
// loss, accuracy and confusion matrix (package confusion derives the
// per-class metrics) on a split of a dataset, and Predict classifies PNG,
// JPEG, GIF and BMP files. Predict decodes them with package imagefile,
// which checks a file's size and, from its header, its dimensions before
// decoding it in TensorFlow and resizing it to the model's input (bilinear,
// pixel centers aligned).
package infer
