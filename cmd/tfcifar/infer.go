package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/infer"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/suggest"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/workflow"
)

// Bounds of preview's grid: each image takes about 80 KB of memory.
const (
	maxPreviewImages = 1000
	maxPreviewCols   = 100
)

// evalSetup: eval prints the accuracy of an export on a split of CIFAR-10.
func evalSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	var cf configFlags
	cf.register(fs)
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	split := fs.String("split", "val", "set to evaluate: train, val (as data.split divides the classes) or test")
	trust := trustFlag(fs)
	return func(ctx context.Context, args []string, out io.Writer) error {
		switch {
		case len(args) > 0:
			return usage(fmt.Errorf("eval: unexpected argument %q (the model is given with -model DIR)", args[0]))
		case *model == "":
			return usage(errors.New("eval: -model DIR is required"))
		case !slices.Contains(infer.Splits(), *split):
			splits := infer.Splits()
			err := fmt.Errorf("eval: -split %q: want one of %s", *split, strings.Join(splits, ", "))
			if s := suggest.Closest(*split, splits, nil); s != "" {
				err = fmt.Errorf("%w; did you mean %s?", err, s)
			}
			return usage(err)
		}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		ev, err := infer.Evaluate(ctx, *model, cfg.Data, *split, savedmodel.LoadOptions{Trust: *trust, Run: cfg.Run})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s on %s (%d images): accuracy %.4f\n", ev.Model, ev.Split, ev.Images, ev.Accuracy)
		for i, c := range ev.Classes {
			fmt.Fprintf(out, "  %-12s %.4f\n", c, ev.PerClass[i])
		}
		return nil
	}
}

// predictSetup: predict prints the top classes of image files.
func predictSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	top := fs.Int("top", 3, "how many classes to show per image")
	scale := fs.Float64("scale", 0, "deprecated: pixel multiplier for an export written before exports recorded their preprocessing (default 1); others apply their own")
	trust := trustFlag(fs)
	return func(ctx context.Context, files []string, out io.Writer) error {
		switch {
		case *model == "":
			return usage(errors.New("predict: -model DIR is required"))
		case len(files) == 0:
			return usage(errors.New("predict: name at least one PNG or JPEG image"))
		case *top < 1:
			return usage(fmt.Errorf("predict: -top %d: want at least 1", *top))
		case *scale < 0 || math.IsNaN(*scale) || math.IsInf(*scale, 0):
			return usage(fmt.Errorf("predict: -scale %v: want a finite positive factor", *scale))
		case *scale != 0:
			fmt.Fprintln(os.Stderr, "tfcifar: predict: -scale is deprecated: an export applies its own preprocessing (data.scale, rescaling and normalization layers); -scale only serves exports without assets/scale.txt")
		}
		preds, err := infer.Predict(ctx, *model, files, infer.PredictOptions{
			Top: *top, Scale: *scale, Load: savedmodel.LoadOptions{Trust: *trust},
		})
		if err != nil {
			return err
		}
		for _, p := range preds {
			fmt.Fprintln(out, p.File)
			for _, g := range p.Top {
				fmt.Fprintf(out, "  %-12s %.4f\n", g.Class, g.Probability)
			}
		}
		return nil
	}
}

// trustFlag registers -trust-model, which loads a model without checking
// its graph's ops.
func trustFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("trust-model", false, "load the model without checking its graph's ops (only for models from a trusted source)")
}

// previewSetup: preview writes a PNG grid of the first training images.
func previewSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	var cf configFlags
	cf.register(fs)
	n := fs.Int("n", 4, fmt.Sprintf("number of images (at most %d)", maxPreviewImages))
	cols := fs.Int("cols", 2, fmt.Sprintf("images per row (at most %d)", maxPreviewCols))
	file := fs.String("o", "preview.png", "output PNG `file`")
	return func(ctx context.Context, args []string, out io.Writer) error {
		switch {
		case len(args) > 0:
			return usage(fmt.Errorf("preview: unexpected argument %q (the output file is given with -o FILE)", args[0]))
		case *n < 1 || *n > maxPreviewImages:
			return usage(fmt.Errorf("preview: -n %d: want 1 to %d images", *n, maxPreviewImages))
		case *cols < 1 || *cols > maxPreviewCols:
			return usage(fmt.Errorf("preview: -cols %d: want 1 to %d images per row", *cols, maxPreviewCols))
		}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		dir, err := workflow.LocateData(ctx, cfg.Data, out)
		if err != nil {
			return err
		}
		ds, err := cifar.Load(dir)
		if err != nil {
			return err
		}
		err = atomicfile.Write(*file, func(w io.Writer) error { return cifar.Preview(w, ds.Train, *n, *cols) })
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d images)\n", *file, min(*n, ds.Train.Len()))
		return nil
	}
}
