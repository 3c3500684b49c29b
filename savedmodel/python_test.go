package savedmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/internal/pyenv"
)

// TestPython loads exports with TensorFlow Python (tf.saved_model.load)
// and checks that each is a TensorFlow 2 object whose variables,
// trainable_variables and non_trainable_variables lists hold Go's
// variables (names, shapes, parameter counts), that its serving_default
// signature gives the Go probabilities on real test images, and that
// saved_model_cli shows and runs the signature: the reference network with
// its first layer frozen, and a small one with batch normalization (whose
// moving statistics are not trainable) and dropout. The virtualenv comes
// from scripts/setup-python.sh.
func TestPython(t *testing.T) {
	const n = 50
	images, source := testImages(t, n)
	frozen := referenceNet()
	frozen.Layers[0].Trainable = new(bool) // trainable: false, as the config resolves it
	frozen.Layers[0].Frozen = true
	for _, tc := range []struct {
		desc string
		net  config.Network
	}{
		{"reference network, first layer frozen", frozen},
		{"batchnorm and dropout", smallNet(5).Named()},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			values := initialValues(t, tc.net, 11)
			probs, ids := predictInProcess(t, tc.net, values, images, n)
			tmp := t.TempDir()
			dir, err := ExportNetwork(filepath.Join(tmp, "base", "1"), tc.net, values, Options{
				Classes: []string{"airplane", "automobile", "bird", "cat", "deer"}, Seed: 11,
			})
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]any{"images.f32": images, "probabilities.f32": probs, "class_ids.i64": ids}
			pyenv.WriteFiles(t, tmp, files)
			vars := writeVariables(t, tc.net, filepath.Join(tmp, "variables.json"))
			res := pyenv.Run(t, filepath.Join("interop", "check_savedmodel.py"), dir,
				filepath.Join(tmp, "images.f32"), filepath.Join(tmp, "probabilities.f32"), filepath.Join(tmp, "class_ids.i64"),
				"--variables", vars)
			t.Logf("images: %s\n%s", source, res)
		})
	}
}

// writeVariables writes the variables of net built for serving, in order,
// as check_savedmodel.py reads them ([[name, shape, trainable], ...]), to
// name and returns name.
func writeVariables(t *testing.T, net config.Network, name string) string {
	t.Helper()
	m, err := graph.Build(op.NewScope(), net, graph.Options{Serving: true})
	if err != nil {
		t.Fatal(err)
	}
	list := [][]any{}
	frozen := 0
	for _, v := range m.Variables {
		list = append(list, []any{v.Name, v.Shape, v.Trainable})
		if !v.Trainable {
			frozen++
		}
	}
	if frozen == 0 || frozen == len(list) {
		t.Fatalf("%d of %d variables frozen: the check needs both kinds", frozen, len(list))
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
