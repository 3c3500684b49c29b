#!/usr/bin/env python3
"""Checks tfcifar's evaluation of an export with TensorFlow Python.

usage: check_eval.py EXPORT_DIR IMAGES LABELS SUMMARY [--tolerance T]

IMAGES is raw little-endian float32 pixels [N, H, W, C] (NHWC, as the model
is fed), LABELS raw uint8 [N] (indices into the export's classes) and
SUMMARY the JSON object tfcifar computed in Go for those images (the
fields of `tfcifar eval -json`).

The export is loaded with tf.saved_model.load and its serving_default
signature run on the images. From its outputs this script computes, on its
own: the confusion matrix (tf.math.confusion_matrix, rows true, columns
predicted), which must equal SUMMARY's; the mean cross-entropy (Keras's
sparse_categorical_crossentropy of the probabilities), within the relative
tolerance (default 1e-4) of SUMMARY's loss; and the accuracy, per-class
precision, recall, F1, support and their macro and weighted averages as
scikit-learn's classification_report defines them (zero_division=0),
within 1e-12 of SUMMARY's. Prints one line per check and exits 1 if any
fails.
"""

import argparse
import json
import sys

import numpy as np
import tensorflow as tf

SIGNATURE = "serving_default"


def report(cm):
    """Per-class and averaged metrics of the confusion matrix cm."""
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)

    def div(a, b):
        return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

    precision, recall = div(tp, predicted), div(tp, support)
    f1 = div(2 * precision * recall, precision + recall)
    total = support.sum()
    weights = support / total if total else np.zeros_like(support)
    return {
        "accuracy": tp.sum() / total if total else 0.0,
        "per_class": [{"precision": p, "recall": r, "f1": f, "support": int(s)}
                      for p, r, f, s in zip(precision, recall, f1, support)],
        "macro_avg": {"precision": precision.mean(), "recall": recall.mean(), "f1": f1.mean(),
                      "support": int(total)},
        "weighted_avg": {"precision": (precision * weights).sum(), "recall": (recall * weights).sum(),
                         "f1": (f1 * weights).sum(), "support": int(total)},
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("export_dir")
    p.add_argument("images")
    p.add_argument("labels")
    p.add_argument("summary")
    p.add_argument("--tolerance", type=float, default=1e-4)
    a = p.parse_args()

    with open(a.summary) as f:
        go = json.load(f)
    model = tf.saved_model.load(a.export_dir)
    fn = model.signatures[SIGNATURE]
    dims = fn.structured_input_signature[1]["images"].shape.as_list()[1:]
    images = np.fromfile(a.images, dtype="<f4").reshape([-1] + dims)
    labels = np.fromfile(a.labels, dtype=np.uint8).astype(np.int64)
    k = len(go["classes"])
    probs, ids = [], []
    for start in range(0, len(images), 500):
        out = fn(images=tf.constant(images[start:start + 500]))
        probs.append(out["probabilities"].numpy())
        ids.append(out["class_ids"].numpy())
    probs, ids = np.concatenate(probs), np.concatenate(ids)
    print(f"ran {a.export_dir} on {len(images)} images with TensorFlow {tf.__version__}")

    failures = []

    def check(ok, line):
        print(("ok   " if ok else "FAIL ") + line)
        if not ok:
            failures.append(line)

    cm = tf.math.confusion_matrix(labels, ids, num_classes=k).numpy()
    check(np.array_equal(cm, np.array(go["confusion_matrix"])),
          f"confusion matrix {cm.tolist()}, go {go['confusion_matrix']}")
    loss = float(np.mean(tf.keras.losses.sparse_categorical_crossentropy(labels, probs).numpy()))
    check(abs(loss - go["loss"]) <= a.tolerance * abs(loss),
          f"loss {loss:.7f}, go {go['loss']:.7f} (relative tolerance {a.tolerance:g})")

    want = report(cm)
    worst = abs(want["accuracy"] - go["accuracy"])
    for name in ("macro_avg", "weighted_avg"):
        for key in ("precision", "recall", "f1"):
            worst = max(worst, abs(want[name][key] - go[name][key]))
        check(want[name]["support"] == go[name]["support"], f"{name} support {want[name]['support']}, go {go[name]['support']}")
    for i, c in enumerate(want["per_class"]):
        g = go["per_class"][i]
        for key in ("precision", "recall", "f1"):
            worst = max(worst, abs(c[key] - g[key]))
        check(c["support"] == g["support"], f"class {g['class']}: support {c['support']}, go {g['support']}")
    check(worst <= 1e-12, f"accuracy and per-class and averaged precision, recall, F1: max |python - go| = {worst:.3g}")

    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
