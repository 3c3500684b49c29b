#!/usr/bin/env python3
"""Checks a tfcifar SavedModel export with TensorFlow Python.

usage: check_savedmodel.py EXPORT_DIR IMAGES PROBABILITIES CLASS_IDS [--tolerance T]

IMAGES is raw little-endian float32 pixels [N, H, W, C] (NHWC, 0-255, as
the model is fed), PROBABILITIES raw little-endian float32 [N, classes] and
CLASS_IDS raw little-endian int64 [N]: the predictions tfcifar made in Go.

The export is loaded with tf.saved_model.load; its serving_default
signature is called with images=...; the probabilities must match to the
tolerance (default 1e-5) and the class ids exactly. Then
`saved_model_cli show --dir EXPORT_DIR --all` (next to this Python) must
list the signature, its input and its outputs, and fingerprint.pb must
equal TensorFlow's fingerprint of the directory (check_fingerprint.py).
Prints one line per check and exits 1 if any fails.
"""

import argparse
import os
import re
import subprocess
import sys

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
    a = p.parse_args()

    failures = []
    model = tf.saved_model.load(a.export_dir)
    if SIGNATURE not in model.signatures:
        print(f"FAIL signatures: {list(model.signatures)} has no {SIGNATURE}")
        return 1
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

    # Variables carry the names tfcifar gives them (conv2d/kernel:0), and the
    # graph's trainable_variables collection lists the weights training
    # changes (no dropout seed counter, no batchnorm moving statistics).
    names = [v.name for v in model.variables]
    unclean = [v for v in names if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[a-z_]+:0", v)]
    trainable = [v.name for v in model.graph.get_collection("trainable_variables")]
    stray = [v for v in trainable if v not in names or v.endswith(("/seed:0", "/moving_mean:0", "/moving_variance:0"))]
    # A serving graph draws no dropout mask, so it holds no mask seed.
    seeds = [v for v in names if v.endswith("/seed:0")]
    if unclean or not trainable or stray or seeds:
        failures.append(f"variables {names}: unclean {unclean}; trainable {trainable}, not weights {stray}; seeds {seeds}")
        print("FAIL variable names or trainable_variables")
    else:
        print(f"ok   variables {names}; trainable_variables {len(trainable)} of them")

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

    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
