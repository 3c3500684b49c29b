#!/usr/bin/env python3
"""Writes keras/testdata/small.keras, the small Keras model of tfcifar's tests.

usage: keras_small.py OUT.keras

Also writes OUT.json: every dataset of its model.weights.h5 as h5py reads
it, {"path": {"shape": [...], "values": [...]}}, the reference the HDF5
reader's tests compare with. A Sequential model on 8x8x3 inputs: Conv2D(2, 3, relu), BatchNormalization,
MaxPooling2D(2), Flatten, Dropout(0.5), Dense(3, softmax), with seeded
random weights and moving statistics (so no value is a default).
"""

import json
import os
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402


def main():
    keras.utils.set_random_seed(3)
    layers = keras.layers
    m = keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(2, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(3, activation="softmax"),
    ], name="small")
    rng = np.random.default_rng(3)
    bn = m.layers[1]
    bn.set_weights([rng.uniform(0.5, 1.5, 2), rng.normal(size=2), rng.normal(size=2), rng.uniform(0.5, 2, 2)])
    m.save(sys.argv[1])
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(sys.argv[1]) as z:
            z.extract("model.weights.h5", tmp)
        with h5py.File(os.path.join(tmp, "model.weights.h5")) as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    v = obj[()]
                    out[name] = {"shape": list(v.shape), "values": [float(x) for x in v.ravel()]}
            f.visititems(visit)
    with open(os.path.splitext(sys.argv[1])[0] + ".json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
