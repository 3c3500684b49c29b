package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/tfcifar/tfcifar/train"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1   // the run failed
	exitUsage       = 2   // bad flags or config
	exitInterrupted = 130 // stopped by a signal after saving a checkpoint
)

// usageError marks errors in flags or config.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usage wraps err as a usage error (nil stays nil).
func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// exitCode maps an error returned by run to the process exit code.
func exitCode(err error) int {
	var u usageError
	var intr *train.Interrupted
	var refused *train.ResumeRefused
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &u), errors.As(err, &refused):
		return exitUsage
	case errors.As(err, &intr) && intr.Checkpoint != "":
		return exitInterrupted
	default:
		return exitFailure
	}
}

// resumeHint adds to the error of a run stopped with a checkpoint the
// command line that continues it.
func resumeHint(err error) error {
	var intr *train.Interrupted
	if errors.As(err, &intr) && intr.Checkpoint != "" {
		return fmt.Errorf("%w; run the same command with -resume to continue", err)
	}
	return err
}
