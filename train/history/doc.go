// Package history writes the record of a fit as files: Hook, attached to
// train.Trainer.Fit, writes history.json (train.History, read back with
// train.ReadHistory) and history.png (Plot: loss and accuracy curves per
// epoch) into a stage directory when Fit succeeds, an early stop
// included. A fit that fails, diverges or is interrupted leaves the
// files of an earlier fit as they were. Both are written through a
// temporary file renamed into place; train.RemoveLeftovers cleans what a
// kill leaves when given JSONFile and ChartFile.
package history
