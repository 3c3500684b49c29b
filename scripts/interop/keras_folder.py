"""Reads a folder of class folders as Keras' image_dataset_from_directory
does and writes what it read, for tfcifar's folder reader to compare with.

usage: keras_folder.py DIR HEIGHT WIDTH OUT

OUT.json gets the class names and the file paths (relative to DIR, "/"
separated) in Keras' order; OUT.f32 the float32 pixels of every image,
[N, HEIGHT, WIDTH, 3], little-endian.
"""
import json
import os
import sys

import numpy as np
import tensorflow as tf


def main():
    root, h, w, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ds = tf.keras.utils.image_dataset_from_directory(
        root, labels="inferred", label_mode="int", image_size=(h, w),
        batch_size=None, shuffle=False, interpolation="bilinear", verbose=False)
    pixels = np.stack([img.numpy() for img, _ in ds]).astype("<f4")
    paths = [os.path.relpath(p, root).replace(os.sep, "/") for p in ds.file_paths]
    with open(out + ".json", "w") as f:
        json.dump({"class_names": ds.class_names, "file_paths": paths}, f)
    pixels.tofile(out + ".f32")
    print(f"{len(paths)} images of {len(ds.class_names)} classes at {h}x{w}")


if __name__ == "__main__":
    main()
