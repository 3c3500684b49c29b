package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tfcifar/tfcifar/keras"
	"github.com/tfcifar/tfcifar/savedmodel"
)

// exportFormats are the formats export writes.
var exportFormats = []string{"keras"}

// exportSetup: export writes a tfcifar export in another format.
func exportSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	format := fs.String("format", "", fmt.Sprintf("format to write (%s; required)", exportFormats[0]))
	trust := trustFlag(fs)
	return func(ctx context.Context, args []string, out io.Writer) error {
		switch {
		case *format == "":
			return usage(errors.New("export: -format keras is required"))
		case *format != exportFormats[0]:
			return usage(fmt.Errorf("export: -format %q: want one of %v", *format, exportFormats))
		case len(args) != 2:
			return usage(fmt.Errorf("export: want MODEL OUT.keras, got %d arguments", len(args)))
		}
		v, err := savedmodel.ReadVariables(args[0], savedmodel.LoadOptions{Trust: *trust})
		if err != nil {
			return err
		}
		if err := keras.Export(args[1], v); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s\n", args[1])
		return nil
	}
}
