#!/usr/bin/env python3
"""Builds Keras models for tfcifar's Keras import tests.

usage: keras_model.py --data CIFAR_DIR --out DIR [--train N] [--images M]

Builds the reference base network (scripts/keras_reference.py), trains it
one epoch on the first N images of classes 0-4 of data_batch_1.bin, and
writes to DIR:

    base.keras           model.save (Keras 3 archive)
    export/              model.export (a TF2 SavedModel)
    tfsave/              tf.saved_model.save(model) (another TF2 SavedModel)
    images.f32           the first M test images, float32 NHWC 0-255
    probabilities.f32    Keras' predictions for them, float32 [M, 5]
    weights/LAYER.K.f32  layer.get_weights()[K] of every layer, raw
                         little-endian float32 in C order

and, for the error cases of the import:

    bn.keras             a Functional chain with BatchNormalization (moving
                         statistics changed by one training epoch) and ReLU;
                         with bn_images.f32, bn_probabilities.f32
    bn_export/           its model.export (batch normalization as plain ops)
    rescaled.keras       a Sequential model taking 0-255 pixels through a
                         Rescaling layer; rescaled_probabilities.f32 its
                         predictions for images.f32
    augmented.keras      random flip, translation, brightness and contrast,
                         an adapted Normalization (statistics in the weights
                         file) and one given its mean and variance (in
                         config.json); augmented_probabilities.f32 its
                         predictions (inference) for images.f32
    lstm.keras           a model with an LSTM layer; lstm_export/ its model.export
    branch.keras         a Functional model that is not a chain (Add)
    float64.keras        base.keras with conv2d's kernel stored as float64
    shape.keras          base.keras with dense's bias of another shape
"""

import argparse
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import keras_reference as ref  # noqa: E402


def rewrite_weights(src, dst, change):
    """Copies the archive src to dst with model.weights.h5 edited by change(h5file)."""
    import h5py
    tmp = tempfile.mkdtemp()
    try:
        with zipfile.ZipFile(src) as z:
            z.extractall(tmp)
        with h5py.File(os.path.join(tmp, "model.weights.h5"), "r+") as f:
            change(f)
        with zipfile.ZipFile(dst, "w") as z:
            for name in ("metadata.json", "config.json", "model.weights.h5"):
                z.write(os.path.join(tmp, name), name)
    finally:
        shutil.rmtree(tmp)


def replace(f, path, value):
    del f[path]
    f.create_dataset(path, data=value)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=256)
    p.add_argument("--images", type=int, default=16)
    a = p.parse_args()

    import keras
    keras.utils.set_random_seed(7)
    x, y = ref.read_batch(os.path.join(a.data, "data_batch_1.bin"))
    keep = y < ref.CLASSES
    x, y = x[keep][:a.train].astype(np.float32), y[keep][:a.train]
    onehot = np.eye(ref.CLASSES, dtype=np.float32)[y]
    tx, _ = ref.read_batch(os.path.join(a.data, ref.TEST_FILE))
    images = tx[:a.images].astype(np.float32)

    model = ref.base_model(keras)
    ref.compile_model(keras, model)
    model.fit(x, onehot, batch_size=32, epochs=1, verbose=0)
    os.makedirs(a.out, exist_ok=True)
    model.save(os.path.join(a.out, "base.keras"))
    model.export(os.path.join(a.out, "export"), verbose=False)
    import tensorflow as tf
    tf.saved_model.save(model, os.path.join(a.out, "tfsave"))
    images.tofile(os.path.join(a.out, "images.f32"))
    model.predict(images, verbose=0).astype(np.float32).tofile(os.path.join(a.out, "probabilities.f32"))
    wdir = os.path.join(a.out, "weights")
    os.makedirs(wdir, exist_ok=True)
    for layer in model.layers:
        for k, w in enumerate(layer.get_weights()):
            np.ascontiguousarray(w, dtype=np.float32).tofile(os.path.join(wdir, f"{layer.name}.{k}.f32"))

    layers = keras.layers
    i = keras.Input((32, 32, 3))
    h = layers.Conv2D(4, 3, strides=2, padding="same")(i)
    h = layers.BatchNormalization(epsilon=0.01)(h)
    h = layers.ReLU()(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.GlobalAveragePooling2D()(h)
    o = layers.Dense(5, activation="softmax")(h)
    bn = keras.Model(i, o)
    bn.compile(optimizer="adam", loss="categorical_crossentropy")
    bn.fit(x / 255.0, onehot, batch_size=32, epochs=1, verbose=0)
    bn.save(os.path.join(a.out, "bn.keras"))
    bn.export(os.path.join(a.out, "bn_export"), verbose=False)
    bn_images = images / 255.0
    bn_images.astype(np.float32).tofile(os.path.join(a.out, "bn_images.f32"))
    bn.predict(bn_images, verbose=0).astype(np.float32).tofile(os.path.join(a.out, "bn_probabilities.f32"))

    rescaled = keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255.0, offset=-0.5),
                                 layers.Conv2D(4, 3, activation="relu"), layers.Flatten(),
                                 layers.Dense(5, activation="softmax")])
    rescaled.save(os.path.join(a.out, "rescaled.keras"))
    rescaled.predict(images, verbose=0).astype(np.float32).tofile(os.path.join(a.out, "rescaled_probabilities.f32"))

    adapted = layers.Normalization()
    adapted.adapt(x[:256].astype(np.float32))
    augmented = keras.Sequential([
        keras.Input((32, 32, 3)), layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, [-0.2, 0.1]),
        layers.RandomBrightness(0.2), layers.RandomContrast(0.3), adapted,
        layers.Conv2D(4, 3, activation="relu"), layers.Flatten(),
        layers.Normalization(mean=0.5, variance=4.0), layers.Dense(5, activation="softmax")])
    augmented.save(os.path.join(a.out, "augmented.keras"))
    augmented.predict(images, verbose=0).astype(np.float32).tofile(os.path.join(a.out, "augmented_probabilities.f32"))

    lstm = keras.Sequential([keras.Input((8, 4)), layers.LSTM(3), layers.Dense(2)])
    lstm.save(os.path.join(a.out, "lstm.keras"))
    lstm.export(os.path.join(a.out, "lstm_export"), verbose=False)
    i = keras.Input((8, 8, 3))
    c = layers.Conv2D(3, 3, padding="same")(i)
    branch = keras.Model(i, layers.Add()([i, c]))
    branch.save(os.path.join(a.out, "branch.keras"))

    base = os.path.join(a.out, "base.keras")
    rewrite_weights(base, os.path.join(a.out, "float64.keras"),
                    lambda f: replace(f, "layers/conv2d/vars/0", f["layers/conv2d/vars/0"][()].astype(np.float64)))
    rewrite_weights(base, os.path.join(a.out, "shape.keras"),
                    lambda f: replace(f, "layers/dense/vars/1", np.zeros(7, np.float32)))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
