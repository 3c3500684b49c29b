#!/usr/bin/env python3
"""Writes a small Keras run's TensorBoard logs, the reference for tfcifar's.

usage: keras_tensorboard.py LOGDIR

Trains a tiny dense classifier on seeded random data for 3 epochs with
Keras' TensorBoard callback (weight histograms every epoch, the graph) and
a validation split: Keras writes LOGDIR/train and LOGDIR/validation.
Prints the training history as JSON on the last line:
{"loss": [...], "val_loss": [...], "weights": number of weight tensors}.
"""

import json
import sys

import numpy as np
import tensorflow as tf

EPOCHS = 3


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: keras_tensorboard.py LOGDIR")
    tf.keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = rng.integers(0, 3, size=64)
    model = tf.keras.Sequential([
        tf.keras.Input((8,)),
        tf.keras.layers.Dense(4, activation="relu"),
        tf.keras.layers.Dense(3),
    ])
    model.compile(optimizer="sgd", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    board = tf.keras.callbacks.TensorBoard(sys.argv[1], histogram_freq=1, write_graph=True)
    h = model.fit(x, y, batch_size=16, epochs=EPOCHS, validation_split=0.25, callbacks=[board], verbose=0)
    print(json.dumps({"loss": h.history["loss"], "val_loss": h.history["val_loss"], "weights": len(model.weights)}))


if __name__ == "__main__":
    main()
