// Package workflow runs the stages of a tfcifar config end to end: it finds
// and splits CIFAR-10, resolves each stage's network and the source of its
// reused layers (an earlier stage or an exported SavedModel), hands the
// transfer work to package transfer, trains with package train, exports a
// SavedModel, evaluates it on the validation images (package infer) and
// reports accuracy, per-class metrics and time for every stage.
//
// A run directory (config run.out) holds, after a run:
//
//	config.yaml              the resolved config
//	report.json, report.txt  the final report
//	<stage>/model/           the stage's SavedModel (config export.dir)
//	<stage>/history.json     per-epoch metrics
//	<stage>/history.png      loss and accuracy curves
//	<stage>/classes.txt      the export's per-class report on the validation images
//	<stage>/confusion.png    its confusion matrix on them
//	<stage>/checkpoint/      the last checkpoint, for resume
//	tfcifar.lock             held (flock) while a run is in the dir
//
// Every file is written to a temporary name and renamed into place; the
// next run removes what a killed run left under such names. A run dir that
// is not empty must be one tfcifar wrote, and a finished run in it is
// replaced only with Options.Overwrite.
package workflow
