// Package confusion holds the confusion matrix of a classifier and what is
// derived from it: accuracy, per-class precision, recall, F1 and support,
// their macro and weighted averages (as scikit-learn's
// classification_report defines them, with 0 where a ratio would divide
// by zero), the matrix and the report as aligned text, and the matrix as
// a PNG heatmap. It is pure Go: no TensorFlow.
package confusion
