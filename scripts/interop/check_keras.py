#!/usr/bin/env python3
"""Checks a .keras archive written by `tfcifar export -format keras`.

usage: check_keras.py IMAGES --model EXPORT_DIR KERAS_FILE FROZEN... [--tolerance T]

IMAGES is raw little-endian float32 pixels [N, H, W, C] (NHWC, 0-255).
For each --model, the archive KERAS_FILE is opened with
keras.models.load_model and its model.weights.h5 walked with h5py, and the
SavedModel export EXPORT_DIR it was written from is loaded with
tf.saved_model.load. Keras's predictions on IMAGES must equal the
serving_default signature's probabilities to the tolerance (default 1e-5),
the archive's weights must equal the model's, and the layers named in
FROZEN (comma-separated, "-" for none) must be the only non-trainable
ones. Each layer's config in config.json must be the one Keras writes back
for the loaded layer (get_config, the dtype policy aside). Each Keras augmentation layer (Random*) must pass the images
through unchanged at inference and change them in training. Prints one
line per check and exits 1 if any fails.
"""

import argparse
import json
import sys
import zipfile

import h5py
import keras
import numpy as np
import tensorflow as tf
from keras.src.utils import naming


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images")
    p.add_argument("--model", nargs=3, action="append", required=True,
                   metavar=("EXPORT_DIR", "KERAS_FILE", "FROZEN"))
    p.add_argument("--tolerance", type=float, default=1e-5)
    a = p.parse_args()
    failures = []
    for export_dir, keras_file, frozen in a.model:
        want_frozen = [] if frozen == "-" else frozen.split(",")
        failures += check(export_dir, keras_file, want_frozen, a.images, a.tolerance)
    for f in failures:
        print("FAIL", f)
    if failures:
        return 1
    print("OK")
    return 0


def check(export_dir, keras_file, want_frozen, images_file, tolerance):
    """Returns the failures of one archive."""
    failures = []

    model = keras.models.load_model(keras_file)
    names = [l.name for l in model.layers]
    print(f"loaded {keras_file} with Keras {keras.__version__}: layers {names}")

    with zipfile.ZipFile(keras_file) as z, z.open("model.weights.h5") as f, h5py.File(f) as h5:
        stored = {}
        h5.visititems(lambda name, obj: stored.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    used = {}
    for layer in model.layers:
        # Keras keeps a layer's weights under its class name in snake case,
        # numbered per class (conv2d, conv2d_1, ...), not under its name.
        path = naming.to_snake_case(type(layer).__name__)
        used[path] = used.get(path, -1) + 1
        if used[path]:
            path = f"{path}_{used[path]}"
        for i, w in enumerate(layer.weights):
            key = f"layers/{path}/vars/{i}"
            if key not in stored or not np.array_equal(stored[key], w.numpy()):
                failures.append(f"weight {key}: not in the archive or not the model's {w.path}")
    print(f"h5py: {len(stored)} datasets, equal to the model's weights")

    # The archive's layer configs are complete and exactly as Keras
    # writes them: loading and saving again changes none.
    with zipfile.ZipFile(keras_file) as z:
        written = json.loads(z.read("config.json"))["config"]["layers"][1:]  # after the InputLayer
    for want, layer in zip(written, model.layers):
        got = json.loads(json.dumps(layer.get_config()))
        want = dict(want["config"])
        got.pop("dtype", None)
        want.pop("dtype", None)
        if got != want:
            diff = {k: (want.get(k), got.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
            failures.append(f"layer {layer.name}: config.json and Keras's config differ (written, Keras): {diff}")
    print(f"configs of {len(written)} layers: as Keras writes them")

    frozen = sorted(l.name for l in model.layers if not l.trainable)
    if frozen != sorted(want_frozen):
        failures.append(f"non-trainable layers {frozen}, want {sorted(want_frozen)}")

    saved = tf.saved_model.load(export_dir).signatures["serving_default"]
    dims = saved.structured_input_signature[1]["images"].shape.as_list()[1:]
    images = np.fromfile(images_file, dtype="<f4").reshape([-1] + dims)
    want = saved(images=tf.constant(images))["probabilities"].numpy()
    got = model.predict(images, verbose=0)
    if got.shape != want.shape:
        failures.append(f"predictions shape {got.shape}, want {want.shape}")
    else:
        diff = float(np.max(np.abs(got.astype(np.float64) - want)))
        line = (f"predictions of {len(images)} images: max |keras - savedmodel| = {diff:.3g} "
                f"(tolerance {tolerance:g}); same class for {np.sum(got.argmax(1) == want.argmax(1))}; "
                f"top probabilities {want.max(1).min():.3f} to {want.max(1).max():.3f}")
        print(line)
        if not diff <= tolerance:
            failures.append(line)

    # The augmentations are real Keras layers: the identity at inference,
    # drawing in training (each on the raw images, which their default
    # value_range [0, 255] expects).
    x = tf.constant(images)
    for layer in model.layers:
        if not type(layer).__name__.startswith("Random"):
            continue
        inference = np.asarray(layer(x, training=False))
        training = np.asarray(layer(x, training=True))
        changed = float(np.mean(np.any(training != images, axis=(1, 2, 3))))
        print(f"{type(layer).__name__} {layer.name}: identity at inference "
              f"{np.array_equal(inference, images)}, changes {changed:.0%} of the images in training")
        if not np.array_equal(inference, images):
            failures.append(f"{layer.name}: changes the images at inference")
        if changed < 0.25:  # a flip draws each image with probability 1/2
            failures.append(f"{layer.name}: changes only {changed:.0%} of the images in training")
    return failures


if __name__ == "__main__":
    sys.exit(main())
