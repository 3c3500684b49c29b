package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfcifar/tfcifar/internal/cifartest"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// tinyExport trains a three-class network for one epoch on a few
// synthetic images, in process, and returns the data dir, the config
// file and the export's dir.
func tinyExport(t *testing.T, dir string) (data, cfg, model string) {
	t.Helper()
	data = cifartest.Write(t, 60, 30)
	cfg = filepath.Join(dir, "tiny.yaml")
	yaml := fmt.Sprintf(`data: {dir: %q, download: false}
run: {out: %q, progress: off}
stages:
  - name: base
    classes: [0, 1, 2]
    model:
      input: [32, 32, 3]
      layers:
        - {type: flatten}
        - {type: dense, units: 3}
        - {type: activation, activation: softmax}
    train: {epochs: 1, batch_size: 4}
`, data, filepath.Join(dir, "run"))
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-config", cfg}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return data, cfg, filepath.Join(dir, "run", "base", "model")
}

// tree returns the files under root with their sizes and modification
// times.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = fmt.Sprintf("%v %d %v", fi.Mode(), fi.Size(), fi.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// decodePNG fails the test unless path is a PNG image.
func decodePNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// evalOutput is eval -json's object as the README documents it.
type evalOutput struct {
	Model     string   `json:"model"`
	Split     string   `json:"split"`
	Classes   []string `json:"classes"`
	Images    int      `json:"images"`
	Loss      *float64 `json:"loss"`
	Accuracy  *float64 `json:"accuracy"`
	PerClass  []metric `json:"per_class"`
	Macro     *metric  `json:"macro_avg"`
	Weighted  *metric  `json:"weighted_avg"`
	Confusion [][]int  `json:"confusion_matrix"`
	PNG       string   `json:"confusion_png"`
}

type metric struct {
	Class     string   `json:"class"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	F1        *float64 `json:"f1"`
	Support   int      `json:"support"`
}

// decodeStrict decodes s as exactly one JSON value into v, refusing
// unknown fields and trailing data.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// TestEvalOutputs runs eval on a trained export: -json prints one object
// with the documented fields, consistent with itself; the confusion
// matrix PNG goes beside the model dir or where -confusion says, never
// into the model dir; the text report has its parts.
func TestEvalOutputs(t *testing.T) {
	dir := t.TempDir()
	data, cfg, model := tinyExport(t, dir)
	before := tree(t, model)
	checkModel := func(what string) {
		t.Helper()
		if after := tree(t, model); !maps.Equal(before, after) {
			t.Errorf("%s changed the model dir:\nbefore %v\nafter  %v", what, before, after)
		}
	}

	r := runBinary(t, dir, nil, "eval", "-json", "-split", "test", "-model", model, "-data", data, "-config", cfg)
	if r.code != 0 {
		t.Fatalf("eval -json: exit %d\n%s", r.code, r.stderr)
	}
	var ev evalOutput
	if err := decodeStrict(r.stdout, &ev); err != nil {
		t.Fatalf("eval -json printed %q: %v", r.stdout, err)
	}
	if ev.Model != model || ev.Split != "test" || !slices.Equal(ev.Classes, []string{"airplane", "automobile", "bird"}) {
		t.Errorf("model %q, split %q, classes %v", ev.Model, ev.Split, ev.Classes)
	}
	if ev.Images != 9 || ev.Loss == nil || ev.Accuracy == nil || ev.Macro == nil || ev.Weighted == nil {
		t.Fatalf("images %d (want 9: three of each class), loss %v, accuracy %v, averages %v %v", ev.Images, ev.Loss, ev.Accuracy, ev.Macro, ev.Weighted)
	}
	if len(ev.Confusion) != 3 || len(ev.PerClass) != 3 {
		t.Fatalf("confusion matrix %v, per class %v; want three of each", ev.Confusion, ev.PerClass)
	}
	total, correct := 0, 0
	for i, row := range ev.Confusion {
		sum := 0
		for _, n := range row {
			sum += n
		}
		total, correct = total+sum, correct+row[i]
		c := ev.PerClass[i]
		if c.Class != ev.Classes[i] || c.Support != sum || c.Precision == nil || c.Recall == nil || c.F1 == nil {
			t.Errorf("per class %d: %+v, want class %s with support %d and its ratios", i, c, ev.Classes[i], sum)
		}
	}
	if total != ev.Images || !tolerance.EqualWithinAbs(float64(correct)/float64(total), *ev.Accuracy, 1e-12) {
		t.Errorf("matrix total %d, diagonal %d; images %d, accuracy %v", total, correct, ev.Images, *ev.Accuracy)
	}
	beside := filepath.Join(dir, "run", "base", "confusion-model-test.png")
	if ev.PNG != beside {
		t.Errorf("confusion_png %q, want %q", ev.PNG, beside)
	}
	decodePNG(t, beside)
	checkModel("eval -json")

	chart := filepath.Join(dir, "charts", "cm.png")
	if err := os.Mkdir(filepath.Dir(chart), 0o755); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, dir, nil, "eval", "-model", model, "-data", data, "-config", cfg, "-confusion", chart)
	if r.code != 0 {
		t.Fatalf("eval -confusion: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"on val (", "loss ", "accuracy ", "precision", "macro avg", "weighted avg",
		"confusion matrix (rows: true class", "true \\ predicted", "airplane", "wrote " + chart} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("eval printed\n%s\nwithout %q", r.stdout, want)
		}
	}
	decodePNG(t, chart)

	if err := os.Remove(beside); err != nil {
		t.Fatal(err)
	}
	files := tree(t, dir)
	r = runBinary(t, dir, nil, "eval", "-model", model, "-data", data, "-config", cfg, "-split", "test", "-confusion", "")
	if r.code != 0 || strings.Contains(r.stdout, "wrote") {
		t.Errorf("eval -confusion '': exit %d, stdout\n%s", r.code, r.stdout)
	}
	if after := tree(t, dir); !maps.Equal(files, after) {
		t.Errorf("eval -confusion '' wrote files: before %d, after %d", len(files), len(after))
	}

	for _, inside := range []string{filepath.Join(model, "cm.png"), filepath.Join(model, "variables", "..", "cm.png"), model} {
		r = runBinary(t, dir, nil, "eval", "-model", model, "-data", data, "-config", cfg, "-confusion", inside)
		if r.code != exitUsage || !strings.Contains(r.stderr, "inside the model dir") {
			t.Errorf("eval -confusion %s: exit %d, stderr %q; want a usage error", inside, r.code, r.stderr)
		}
	}
	// A PNG that cannot be written fails eval after the report is printed.
	var out bytes.Buffer
	err := run(context.Background(), []string{"eval", "-model", model, "-data", data, "-confusion", filepath.Join(cfg, "x.png")}, &out)
	if exitCode(err) != exitFailure || !strings.Contains(err.Error(), "-confusion FILE") || !strings.Contains(out.String(), "macro avg") {
		t.Errorf("eval -confusion under a file: %v (exit %d), printed %q; want the report and then a failure naming -confusion", err, exitCode(err), out.String())
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(model, link); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"eval", "-model", model, "-data", data, "-confusion", filepath.Join(link, "x.png")}, io.Discard); exitCode(err) != exitUsage {
		t.Errorf("eval -confusion through a link to the model dir: %v, want a usage error", err)
	}
	checkModel("eval")
}

// predictOutput is one line of predict -json as the README documents it.
type predictOutput struct {
	File        string   `json:"file"`
	Error       string   `json:"error"`
	ClassID     *int     `json:"class_id"`
	Class       string   `json:"class"`
	Probability *float64 `json:"probability"`
	Top         []struct {
		ClassID     *int     `json:"class_id"`
		Class       string   `json:"class"`
		Probability *float64 `json:"probability"`
	} `json:"top"`
}

// TestPredictJSON runs predict -json on good and bad files: one JSON
// object per file, in order, an error object for each bad one, and the
// exit code of the text mode.
func TestPredictJSON(t *testing.T) {
	dir := t.TempDir()
	_, _, model := tinyExport(t, dir)
	img := filepath.Join(dir, "x.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.png")
	for path, b := range map[string][]byte{img: buf.Bytes(), bad: []byte("text")} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{img, filepath.Join(dir, "missing.jpg"), bad, img}

	text := runBinary(t, dir, nil, append([]string{"predict", "-model", model, "-top", "2"}, files...)...)
	r := runBinary(t, dir, nil, append([]string{"predict", "-json", "-model", model, "-top", "2"}, files...)...)
	if r.code != exitFailure || text.code != r.code {
		t.Errorf("predict -json: exit %d, text mode %d; want %d for both", r.code, text.code, exitFailure)
	}
	if !strings.Contains(text.stdout, img+"\n") || !strings.Contains(text.stderr, "2 of 4 files not classified") {
		t.Errorf("text mode: stdout %q, stderr %q", text.stdout, text.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(files) {
		t.Fatalf("predict -json printed %d lines for %d files:\n%s", len(lines), len(files), r.stdout)
	}
	for i, l := range lines {
		var p predictOutput
		if err := decodeStrict(l, &p); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		if p.File != files[i] {
			t.Errorf("line %d is of %s, want %s", i+1, p.File, files[i])
		}
		switch i {
		case 1, 2:
			if p.Error == "" || !strings.Contains(p.Error, filepath.Base(files[i])) || p.ClassID != nil || p.Top != nil {
				t.Errorf("bad file, line %d: %q; want only file and an error naming it", i+1, l)
			}
		default:
			if p.Error != "" || p.ClassID == nil || p.Probability == nil || len(p.Top) != 2 {
				t.Fatalf("good file, line %d: %q; want class_id, class, probability and two top classes", i+1, l)
			}
			first := p.Top[0]
			if first.ClassID == nil || *first.ClassID != *p.ClassID || first.Class != p.Class || *first.Probability != *p.Probability ||
				*p.Top[1].Probability > *p.Probability {
				t.Errorf("good file, line %d: %q; want the first of top to be the class, most probable first", i+1, l)
			}
		}
	}
}

// testImage is a 32 x 32 image of a few shades.
func testImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	return img
}
