package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
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

// evalSetup: eval prints the loss, accuracy, classification report and
// confusion matrix of an export on a split of CIFAR-10 and draws the
// matrix as a PNG.
func evalSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	var cf configFlags
	cf.register(fs)
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	split := fs.String("split", "val", "set to evaluate: train, val (as data.split divides the classes) or test")
	chart := fs.String("confusion", "", "PNG `file` for the confusion matrix (default: confusion-MODEL-SPLIT.png beside the model dir; '' writes none)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the text report")
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
		png, err := chartPath(fs, *chart, *model, *split)
		if err != nil {
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
		var plotErr error
		if png != "" {
			if err := ev.Confusion.WritePNG(png, fmt.Sprintf("%s on %s", ev.Model, ev.Split)); err != nil {
				plotErr = fmt.Errorf("eval: confusion matrix PNG: %w (name another file with -confusion FILE, or none with -confusion '')", err)
				png = ""
			}
		}
		if *asJSON {
			err = writeEvalJSON(out, ev, png)
		} else {
			err = writeEvalText(out, ev, png)
		}
		return errors.Join(err, plotErr)
	}
}

// chartPath returns where eval writes its confusion matrix PNG: the
// -confusion flag's file when given ("" for none), else
// confusion-<model>-<split>.png in the directory that holds the model
// dir. The file may not be inside the model dir, which stays as tfcifar
// exported it.
func chartPath(fs *flag.FlagSet, flagged, model, split string) (string, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "confusion" })
	abs, err := filepath.Abs(model)
	if err != nil {
		return "", fmt.Errorf("eval: -model %s: %w", model, err)
	}
	file := filepath.Join(filepath.Dir(abs), fmt.Sprintf("confusion-%s-%s.png", filepath.Base(abs), split))
	switch {
	case given && flagged == "":
		return "", nil
	case given:
		if file, err = filepath.Abs(flagged); err != nil {
			return "", fmt.Errorf("eval: -confusion %s: %w", flagged, err)
		}
	}
	if config.Inside(file, abs) {
		return "", fmt.Errorf("eval: the confusion matrix PNG %s would be inside the model dir %s, which holds only the export; name a file elsewhere with -confusion FILE", file, model)
	}
	return file, nil
}

// writeEvalText prints ev: the loss and accuracy on one line, the
// classification report, the confusion matrix and where its PNG is.
func writeEvalText(out io.Writer, ev *infer.Evaluation, png string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s (%d images): loss %.4f, accuracy %.4f\n\n", ev.Model, ev.Split, ev.Images, ev.Loss, ev.Accuracy)
	if err := ev.WriteText(&b); err != nil {
		return err
	}
	if png != "" {
		fmt.Fprintf(&b, "\nwrote %s\n", png)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// evalJSON is what eval -json prints: the summary of the evaluation and
// where the confusion matrix PNG was written.
type evalJSON struct {
	infer.Summary
	PNG string `json:"confusion_png,omitempty"`
}

// writeEvalJSON prints ev as one line of JSON.
func writeEvalJSON(out io.Writer, ev *infer.Evaluation, png string) error {
	return json.NewEncoder(out).Encode(evalJSON{ev.Summary(), png})
}

// predictSetup: predict prints the top classes of image files.
func predictSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	model := fs.String("model", "", "SavedModel `dir` written by tfcifar (required)")
	top := fs.Int("top", 3, "how many classes to show per image")
	scale := fs.Float64("scale", 0, "deprecated: pixel multiplier for an export written before exports recorded their preprocessing (default 1); others apply their own")
	asJSON := fs.Bool("json", false, "print one JSON object per image (JSON Lines) instead of text")
	trust := trustFlag(fs)
	return func(ctx context.Context, files []string, out io.Writer) error {
		switch {
		case *model == "":
			return usage(errors.New("predict: -model DIR is required"))
		case len(files) == 0:
			return usage(errors.New("predict: name at least one PNG, JPEG, GIF or BMP image"))
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
		var failed []error
		enc := json.NewEncoder(out)
		for _, p := range preds {
			if p.Err != nil {
				failed = append(failed, p.Err)
			}
			if *asJSON {
				if err := enc.Encode(predictionJSON(p)); err != nil {
					return err
				}
				continue
			}
			if p.Err != nil {
				continue // reported with the returned error
			}
			fmt.Fprintln(out, p.File)
			for _, g := range p.Top {
				fmt.Fprintf(out, "  %-12s %.4f\n", g.Class, g.Probability)
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("predict: %d of %d files not classified: %w", len(failed), len(files), errors.Join(failed...))
		}
		return nil
	}
}

// guessJSON and fileJSON are what predict -json prints per file: the
// README's "predict -json" section documents them.
type guessJSON struct {
	ClassID     int     `json:"class_id"`
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

type fileJSON struct {
	File string `json:"file"`
	guessJSON
	Top []guessJSON `json:"top"`
}

// predictionJSON returns the JSON object of p: its most probable class
// and its top classes, or its error.
func predictionJSON(p infer.Prediction) any {
	if p.Err != nil {
		return struct {
			File  string `json:"file"`
			Error string `json:"error"`
		}{p.File, p.Err.Error()}
	}
	v := fileJSON{File: p.File}
	for _, g := range p.Top {
		v.Top = append(v.Top, guessJSON(g))
	}
	v.guessJSON = v.Top[0]
	return v
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
		ds, err := workflow.ReadData(ctx, cfg.Data, out)
		if err != nil {
			return err
		}
		defer func() { _ = ds.Close() }() // read only
		err = atomicfile.Write(*file, func(w io.Writer) error { return cifar.Preview(w, ds.Train, *n, *cols) })
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (%d images)\n", *file, min(*n, ds.Train.Len()))
		return nil
	}
}
