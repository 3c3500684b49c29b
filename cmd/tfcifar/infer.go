package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/workflow"
)

// evalCmd prints the accuracy of an export on a split of CIFAR-10.
func evalCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tfcifar eval", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	split := fs.String("split", "val", "set to evaluate: train, val (as data.split divides the classes) or test")
	trust := fs.Bool("trust-model", false, "load the model without checking its graph's ops (only for models from a trusted source)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usage(errors.New("eval: -model DIR is required"))
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	ev, err := workflow.Evaluate(ctx, *model, cfg.Data, *split, savedmodel.LoadOptions{Trust: *trust})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s on %s (%d images): accuracy %.4f\n", ev.Model, ev.Split, ev.Images, ev.Accuracy)
	for i, c := range ev.Classes {
		fmt.Fprintf(out, "  %-12s %.4f\n", c, ev.PerClass[i])
	}
	return nil
}

// predictCmd prints the top classes of image files.
func predictCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tfcifar predict", flag.ContinueOnError)
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	top := fs.Int("top", 3, "how many classes to show per image")
	scale := fs.Float64("scale", 0, "pixel multiplier for an export that does not record its data.scale (default 1); others apply their own")
	trust := fs.Bool("trust-model", false, "load the model without checking its graph's ops (only for models from a trusted source)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *model == "":
		return usage(errors.New("predict: -model DIR is required"))
	case fs.NArg() == 0:
		return usage(errors.New("predict: name at least one PNG or JPEG image"))
	case *top < 1:
		return usage(fmt.Errorf("predict: -top %d: want at least 1", *top))
	case *scale < 0 || math.IsInf(*scale, 0) || math.IsNaN(*scale):
		return usage(fmt.Errorf("predict: -scale %g: want a positive factor", *scale))
	}
	preds, err := workflow.Predict(ctx, *model, fs.Args(), workflow.PredictOptions{
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

// previewCmd writes a PNG grid of the first training images.
func previewCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tfcifar preview", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	n := fs.Int("n", 4, "number of images")
	cols := fs.Int("cols", 2, "images per row")
	file := fs.String("o", "preview.png", "output PNG `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 || *cols < 1 {
		return usage(fmt.Errorf("preview: -n and -cols must be positive"))
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
