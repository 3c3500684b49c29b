// Package tensorboard writes TensorBoard event files through TensorFlow's
// own summary ops, so a tfcifar run shows in TensorBoard as a Keras run
// does. It owns only writing the files; what to write, and when, is its
// caller's.
//
// A Writer has a small graph and session of its own (opened with the run
// settings by internal/session): a SummaryWriter resource opened by
// CreateSummaryFileWriter, and one WriteScalarSummary,
// WriteHistogramSummary and WriteGraphSummary op fed step, tag and value
// through placeholders, plus FlushSummaryWriter and CloseSummaryWriter.
// The ops are built once; calls only run them.
//
// # Event file layout
//
// Each Writer appends to its own file in its directory, named by
// TensorFlow
//
//	DIR/events.out.tfevents.<unix seconds>.<host>.<pid>.<n>.v2
//
// (n counts the process's event files, so Writers sharing a directory
// never share a file; TensorBoard reads all files of a directory as one
// run). The file is a sequence of TFRecords (length, CRC of the length,
// serialized tensorflow.Event, CRC of the data), as every TensorFlow
// event file:
//
//   - first an Event with file_version "brain.Event:2";
//   - Scalar: an Event with step and summary.value {tag, simple_value}
//     (float32), shown in the Scalars tab;
//   - Histogram: summary.value {tag, histo}, a HistogramProto (min, max,
//     num, sum, sum_squares, TensorFlow's default exponential buckets),
//     shown in the Histograms and Distributions tabs;
//   - Graph: an Event with step 0 and graph_def, the serialized GraphDef,
//     shown in the Graphs tab.
//
// Events are queued (at most 10, at most 2 minutes, as
// tf.summary.create_file_writer does) and reach the file on Flush, Close
// or when the queue is full.
//
// Keras' TensorBoard callback writes scalars as tensor summaries of the
// scalars plugin instead of simple values; TensorBoard shows both the
// same. scripts/interop/read_tensorboard.py reads either kind.
package tensorboard
