#!/usr/bin/env python3
"""Writes keras/testdata/small.keras, the small Keras model of tfcifar's tests.

usage: keras_small.py OUT.keras

A Sequential model on 8x8x3 inputs: Conv2D(2, 3, relu), BatchNormalization,
MaxPooling2D(2), Flatten, Dropout(0.5), Dense(3, softmax), with seeded
random weights and moving statistics (so no value is a default).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


if __name__ == "__main__":
    main()
