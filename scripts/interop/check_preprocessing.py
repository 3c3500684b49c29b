#!/usr/bin/env python3
"""Checks tfcifar's preprocessing layers against Keras' at inference.

usage: check_preprocessing.py IMAGES OUTPUT SPEC [--tolerance T]

IMAGES is raw little-endian float32 pixels [N, H, W, C] (0-255), OUTPUT the
float32 output tfcifar computed for them at inference through the layers
SPEC describes: a JSON list of {"type": ..., settings as in tfcifar's
config}. The same layers are built from Keras (keras.layers.RandomFlip,
RandomTranslation, RandomBrightness, RandomContrast, Rescaling,
Normalization) and called with training=False; the outputs must match to
the tolerance (default 1e-5, relative to the output's scale). Prints one
line and exits 1 on a mismatch.
"""

import argparse
import json
import sys

import numpy as np
import keras


def keras_layer(spec):
    t = spec["type"]
    if t == "rescaling":
        return keras.layers.Rescaling(spec["scale"], offset=spec.get("offset", 0.0))
    if t == "normalization":
        return keras.layers.Normalization(mean=spec["mean"], variance=spec["variance"])
    if t == "random_flip":
        return keras.layers.RandomFlip(spec.get("mode", "horizontal_and_vertical"))
    if t == "random_translation":
        return keras.layers.RandomTranslation(spec["height_factor"], spec["width_factor"],
                                              fill_mode=spec.get("fill_mode", "reflect"))
    if t == "random_brightness":
        return keras.layers.RandomBrightness(spec["factor"], value_range=spec.get("value_range", (0, 255)))
    if t == "random_contrast":
        return keras.layers.RandomContrast(spec["factor"], value_range=spec.get("value_range", (0, 255)))
    raise SystemExit(f"unknown layer type {t!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("images")
    p.add_argument("output")
    p.add_argument("spec")
    p.add_argument("--shape", required=True, help="H,W,C")
    p.add_argument("--tolerance", type=float, default=1e-5)
    a = p.parse_args()

    dims = [int(d) for d in a.shape.split(",")]
    x = np.fromfile(a.images, dtype="<f4").reshape([-1] + dims)
    want = np.fromfile(a.output, dtype="<f4").reshape(x.shape)
    specs = json.loads(a.spec)
    for s in specs:
        x = keras_layer(s)(x, training=False)
    got = np.asarray(x, dtype=np.float64)
    diff = float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))
    line = (f"Keras {keras.__version__} {[s['type'] for s in specs]} at inference on {x.shape[0]} images: "
            f"max |keras - tfcifar| / scale = {diff:.3g} (tolerance {a.tolerance:g})")
    print(("ok   " if diff <= a.tolerance else "FAIL ") + line)
    return 0 if diff <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
