#!/usr/bin/env python3
"""Checks a tfcifar SavedModel export with TensorFlow Python.

usage: check_savedmodel.py EXPORT_DIR IMAGES PROBABILITIES CLASS_IDS [--tolerance T] [--variables JSON]

IMAGES is raw little-endian float32 pixels [N, H, W, C] (NHWC, 0-255, as
the model is fed), PROBABILITIES raw little-endian float32 [N, classes] and
CLASS_IDS raw little-endian int64 [N]: the predictions tfcifar made in Go.

The export is loaded with tf.saved_model.load, which must rebuild it as a
TensorFlow 2 object (from its object graph, not through the TF1 loader):
with variables, trainable_variables and non_trainable_variables lists of
resource variables named as in Keras (conv2d/kernel:0), the trainable ones
exactly those whose .trainable is set, and a serving_default signature
whose captured inputs are the variables. JSON, when given, is the list
of variables Go exported, in order: [[name, shape, trainable], ...]; the
three lists must hold them with those names, shapes and parameter counts.
The signature is called with images=...; the probabilities must match to
the tolerance (default 1e-5) and the class ids exactly. Keras 3's
TFSMLayer, which wraps a TensorFlow 2 SavedModel as a layer, must see the
same trainable and non-trainable weights and give the same outputs, and a
loss of the probabilities must have a gradient for every trainable
variable. Then
`saved_model_cli show --dir EXPORT_DIR --all` (next to this Python) must
list the signature, its input and its outputs, and fingerprint.pb must
equal TensorFlow's fingerprint of the directory (check_fingerprint.py).
Prints one line per check and exits 1 if any fails.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

import check_fingerprint

SIGNATURE = "serving_default"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("export_dir")
    p.add_argument("images")
    p.add_argument("probabilities")
    p.add_argument("class_ids")
    p.add_argument("--tolerance", type=float, default=1e-5)
    p.add_argument("--variables")
    a = p.parse_args()

    failures = []
    model = tf.saved_model.load(a.export_dir)
    if SIGNATURE not in getattr(model, "signatures", {}):
        print(f"FAIL signatures: {list(getattr(model, 'signatures', {}))} has no {SIGNATURE}")
        return 1
    failures += check_object(model, a.variables)
    fn = model.signatures[SIGNATURE]
    spec = fn.structured_input_signature[1]["images"]
    dims = spec.shape.as_list()[1:]
    images = np.fromfile(a.images, dtype="<f4").reshape([-1] + dims)
    n = images.shape[0]
    want = np.fromfile(a.probabilities, dtype="<f4").reshape(n, -1)
    want_ids = np.fromfile(a.class_ids, dtype="<i8")
    print(f"loaded {a.export_dir} with TensorFlow {tf.__version__}: "
          f"{len(model.variables)} variables, signature {SIGNATURE}{fn.structured_input_signature[1]}")

    out = fn(images=tf.constant(images))
    got = out["probabilities"].numpy()
    got_ids = out["class_ids"].numpy()
    if got.shape != want.shape:
        failures.append(f"probabilities shape {got.shape}, want {want.shape}")
    else:
        diff = float(np.max(np.abs(got.astype(np.float64) - want)))
        line = f"probabilities of {n} images: max |python - go| = {diff:.3g} (tolerance {a.tolerance:g})"
        print(("ok   " if diff <= a.tolerance else "FAIL ") + line)
        if diff > a.tolerance:
            failures.append(line)
    if not np.array_equal(got_ids, want_ids):
        failures.append(f"class_ids {got_ids.tolist()}, want {want_ids.tolist()}")
        print("FAIL class_ids differ")
    else:
        print(f"ok   class_ids equal: {got_ids.tolist()}")

    failures += check_keras_layer(a.export_dir, model, images, want, a.tolerance)
    failures += check_gradients(fn, model, images)

    # fingerprint.pb: every hash and the version are TensorFlow's own, as its
    # C++ fingerprinter computes them for the same files.
    ok, line = check_fingerprint.compare(a.export_dir)
    print(("ok   " if ok else "FAIL ") + line)
    if not ok:
        failures.append(line)

    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    r = subprocess.run([cli, "show", "--dir", a.export_dir, "--all"], capture_output=True, text=True)
    shown = r.stdout
    wanted = [f"signature_def['{SIGNATURE}']", "inputs['images']", "outputs['probabilities']",
              "outputs['class_ids']", "Method name is: tensorflow/serving/predict"]
    missing = [w for w in wanted if w not in shown]
    if r.returncode != 0 or missing:
        failures.append(f"saved_model_cli show (exit {r.returncode}) lacks {missing}: {r.stderr[-2000:]}")
        print("FAIL saved_model_cli show --all")
    else:
        print("ok   saved_model_cli show --all lists the signature:")
    print(shown.strip())

    # saved_model_cli run goes through the TF1 session loader and the
    # signature's tensors in the main graph: its outputs for the first
    # images must be Go's as well.
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "images.npy"), images[:2])
        r = subprocess.run([cli, "run", "--dir", a.export_dir, "--tag_set", "serve", "--signature_def", SIGNATURE,
                            "--inputs", f"images={os.path.join(tmp, 'images.npy')}", "--outdir", tmp],
                           capture_output=True, text=True)
        line = f"saved_model_cli run (exit {r.returncode}) on 2 images"
        try:
            ran = np.load(os.path.join(tmp, "probabilities.npy"))
            ran_ids = np.load(os.path.join(tmp, "class_ids.npy"))
            diff = float(np.max(np.abs(ran.astype(np.float64) - want[:2])))
            ok = r.returncode == 0 and diff <= a.tolerance and np.array_equal(ran_ids, want_ids[:2])
            line += f": max |cli - go| = {diff:.3g}, class_ids {ran_ids.tolist()}"
        except OSError as e:
            ok = False
            line += f": {e}: {r.stderr[-2000:]}"
        print(("ok   " if ok else "FAIL ") + line)
        if not ok:
            failures.append(line)

    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


def check_gradients(fn, model, images):
    """Checks that the loss of the signature's probabilities has a gradient
    for every trainable variable, as fine-tuning the loaded object needs;
    returns the failures."""
    x = tf.constant(images[:4])
    with tf.GradientTape() as tape:
        p = fn(images=x)["probabilities"]
        loss = -tf.reduce_mean(tf.math.log(p[:, 0] + 1e-7))
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.name for v, g in zip(model.trainable_variables, grads) if g is None]
    line = f"gradients of a loss reach {len(grads) - len(missing)} of {len(grads)} trainable variables"
    print(("ok   " if not missing else "FAIL ") + line)
    return [f"{line}; none for {missing}"] if missing else []


def check_keras_layer(export_dir, model, images, want, tolerance):
    """Checks the export wrapped as a Keras 3 TFSMLayer; returns the failures."""
    import keras  # only this check needs it

    layer = keras.layers.TFSMLayer(export_dir, call_endpoint=SIGNATURE)
    weights = [(len(ws), sum(int(np.prod(w.shape)) for w in ws))
               for ws in (layer.trainable_weights, layer.non_trainable_weights)]
    expected = [(len(vs), params(vs)) for vs in (model.trainable_variables, model.non_trainable_variables)]
    got = layer(images)["probabilities"]
    diff = float(np.max(np.abs(np.asarray(got, np.float64) - want)))
    line = (f"keras.layers.TFSMLayer: trainable weights {weights[0]}, non-trainable {weights[1]} "
            f"(variables, parameters), max |keras - go| = {diff:.3g}")
    if weights != expected or diff > tolerance:
        print("FAIL " + line)
        return [f"{line}; want weights {expected[0]}, {expected[1]}"]
    print("ok   " + line)
    return []


def params(variables):
    return sum(int(np.prod(v.shape.as_list())) for v in variables)


def describe(variables):
    return f"{len(variables)} variables, {params(variables):,} parameters"


def check_object(model, variables_json):
    """Checks that model is a TensorFlow 2 object with clean variable lists;
    returns the failures."""
    failures = []
    # The TF1 loader (load_v1_in_v2) returns an object with a graph and
    # prune(); the TF2 loader the root of the object graph.
    missing = [k for k in ("variables", "trainable_variables", "non_trainable_variables")
               if not hasattr(model, k)]
    if hasattr(model, "prune") or hasattr(model, "graph") or missing:
        failures.append(f"loaded as {type(model).__name__}, not from the object graph: "
                        f"prune {hasattr(model, 'prune')}, lacks {missing}")
        print("FAIL " + failures[-1])
        return failures
    all_vars = list(model.variables)
    trainable = list(model.trainable_variables)
    frozen = list(model.non_trainable_variables)
    names = [v.name for v in all_vars]
    unclean = [v for v in names if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[a-z_]+:0", v)]
    # A serving graph draws no dropout mask, so it holds no mask seed; batch
    # normalization's moving statistics are never trainable.
    seeds = [v for v in names if v.endswith("/seed:0")]
    stray = [v.name for v in trainable if v.name.endswith(("/moving_mean:0", "/moving_variance:0"))]
    wrong = [v.name for v in trainable if not v.trainable] + [v.name for v in frozen if v.trainable]
    split = sorted(v.name for v in trainable + frozen) != sorted(names)
    if unclean or seeds or stray or wrong or split or not trainable:
        failures.append(f"variables {names}: unclean {unclean}; seeds {seeds}; trainable moving statistics {stray}; "
                        f"trainable flag wrong {wrong}; lists do not split the variables {split}")
    handles = {id(h) for h in model.signatures[SIGNATURE].captured_inputs}
    uncaptured = [v.name for v in all_vars if id(v.handle) not in handles]
    if uncaptured:
        failures.append(f"the {SIGNATURE} signature does not capture {uncaptured}")
    if variables_json:
        with open(variables_json) as f:
            want = json.load(f)
        want_all = [(n + ":0", s) for n, s, _ in want]
        want_trainable = [(n + ":0", s) for n, s, t in want if t]
        want_frozen = [(n + ":0", s) for n, s, t in want if not t]
        for key, got, exp in (("variables", all_vars, want_all), ("trainable_variables", trainable, want_trainable),
                              ("non_trainable_variables", frozen, want_frozen)):
            got_l = [(v.name, v.shape.as_list()) for v in got]
            n_want = sum(int(np.prod(s)) for _, s in exp)
            if got_l != exp or params(got) != n_want:
                failures.append(f"{key}: {got_l} ({params(got):,} parameters), want {exp} ({n_want:,})")
    kind = type(model).__name__
    if failures:
        for f in failures:
            print("FAIL " + f)
    else:
        print(f"ok   loaded as a TensorFlow 2 object ({kind}): variables {describe(all_vars)}; "
              f"trainable_variables {describe(trainable)}; non_trainable_variables {describe(frozen)}")
        print(f"     trainable: {[v.name for v in trainable]}")
        print(f"     non-trainable: {[v.name for v in frozen]}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
