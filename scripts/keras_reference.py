#!/usr/bin/env python3
"""Keras reference of the tfcifar workflow (../shared/REFERENCE.md).

Trains the base network on the "below 5" half of CIFAR-10 (classes 0-4), then
reuses its first six layers (three convolutions, pooling, flatten, dropout)
with their trained weights, frozen, under a fresh Dense head, and trains that
transfer network on the "other 5" half (classes 5-9, relabelled 0-4).

It reads the CIFAR-10 binary files (data_batch_1..5.bin, test_batch.bin) from
--data; it never downloads anything. Keras prints its own summary and
per-epoch lines; after each fit the script prints "Time taken" (the wall time
of model.fit). With --json it also writes a summary:

    {"tf_version", "keras_version", "threads": {"intra", "inter"}, "seed",
     "data", "peak_rss_bytes",
     "stages": [{"name", "epochs": [{"epoch", "loss", "accuracy", "val_loss",
                                     "val_accuracy", "seconds"}],
                 "time_taken", "peak_rss_bytes",
                 "params": {"total", "trainable", "non_trainable"},
                 "jit_compile"}]}

Run it with the virtualenv of scripts/setup-python.sh:

    py=$(scripts/setup-python.sh | tail -n1)
    "$py" scripts/keras_reference.py --json /tmp/keras.json
"""

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

# CIFAR-10 binary layout: 1 label byte, then 3072 pixel bytes (1024 red,
# 1024 green, 1024 blue, each row by row).
HEIGHT, WIDTH, CHANNELS = 32, 32, 3
RECORD = 1 + HEIGHT * WIDTH * CHANNELS
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"

CLASSES = 5
HALVES = {"below5": range(0, 5), "other5": range(5, 10)}
TRAIN_FRACTION = 0.8
FROZEN = 6  # layers 0-5 of the base network are reused in the transfer network
STAGES = ("base", "transfer")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.environ.get("TFCIFAR_DATA") or os.path.normpath(
    os.path.join(REPO, "..", "shared", "data", "cifar-10-batches-bin"))


def read_batch(path):
    """Reads one CIFAR-10 binary file.

    Returns (images, labels): uint8 [N, 32, 32, 3] (HWC) and uint8 [N].
    Raises ValueError if the file size is not a whole number of records.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"{path}: {raw.size} bytes is not a positive "
                         f"multiple of the {RECORD}-byte record")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].copy()
    if labels.max() >= 10:
        raise ValueError(f"{path}: label {labels.max()} is not in 0-9")
    images = records[:, 1:].reshape(-1, CHANNELS, HEIGHT, WIDTH)
    return np.ascontiguousarray(images.transpose(0, 2, 3, 1)), labels


def load(data_dir):
    """Loads CIFAR-10 from data_dir.

    Returns ((train_x, train_y), (test_x, test_y)) with uint8 images
    [N, 32, 32, 3] and uint8 labels [N], files concatenated in order.
    """
    def read_all(names):
        parts = [read_batch(os.path.join(data_dir, n)) for n in names]
        return (np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]))
    return read_all(TRAIN_FILES), read_all([TEST_FILE])


def split_half(train, test, classes):
    """Builds the training and validation sets of one half.

    Keeps the images whose label is in classes (a range of 5 consecutive
    labels), relabels them 0-4, concatenates the selected training images
    and then the selected test images (order kept) and splits the result
    without shuffling: the first 80% train, the last 20% validate. Labels
    are one-hot, 5 columns.

    Pixels stay uint8 (0-255), a quarter of the bytes of float32: the
    networks' float32 Input casts each batch, so the layers see the pixels
    cast to float32 as they are (REFERENCE.md) without a float32 copy of
    the whole half. The images are gathered straight into one array.

    Returns ((x_train, y_train), (x_val, y_val)); the four are views of
    two arrays.
    """
    keeps = [(labels >= classes.start) & (labels < classes.stop)
             for _, labels in (train, test)]
    n = sum(int(k.sum()) for k in keeps)
    x = np.empty((n, HEIGHT, WIDTH, CHANNELS), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    at = 0
    for (images, ys), keep in zip((train, test), keeps):
        m = int(keep.sum())
        np.compress(keep, images, axis=0, out=x[at:at + m])
        labels[at:at + m] = ys[keep].astype(np.int64) - classes.start
        at += m
    y = np.eye(CLASSES, dtype=np.float32)[labels]
    cut = int(n * TRAIN_FRACTION)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def head(keras):
    """Returns fresh head layers: Dense 128, ReLU, Dense 5, softmax."""
    layers = keras.layers
    return [
        layers.Dense(128),
        layers.Activation("relu"),
        layers.Dense(CLASSES),
        layers.Activation("softmax"),
    ]


def base_model(keras):
    """Returns the (uncompiled) base network of REFERENCE.md.

    Keras defaults apply: Glorot-uniform kernels, zero biases.
    """
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(HEIGHT, WIDTH, CHANNELS)),
        layers.Conv2D(8, 5, activation="relu"),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.4),
        *head(keras),
    ], name="base")


def transfer_model(keras, base):
    """Returns the transfer network: layers 0-5 of base, frozen, and a new head.

    The reused layers keep their trained weights (they are the same layer
    objects). Freezing only stops their weights from training: the frozen
    Dropout keeps dropping while training, as Keras does.
    """
    reused = base.layers[:FROZEN]
    for layer in reused:
        layer.trainable = False
    return keras.Sequential([
        keras.Input(shape=(HEIGHT, WIDTH, CHANNELS)),
        *reused,
        *head(keras),
    ], name="transfer")


def compile_model(keras, model):
    """Compiles model with the reference optimizer, loss and metric.

    jit_compile is left at Keras' default ("auto"), which resolves to False
    (no XLA) on a machine with only CPU devices.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )


def param_counts(model):
    """Returns {"total", "trainable", "non_trainable"} weight counts."""
    def count(weights):
        return int(sum(np.prod(w.shape) for w in weights))
    trainable = count(model.trainable_weights)
    frozen = count(model.non_trainable_weights)
    return {"total": trainable + frozen, "trainable": trainable,
            "non_trainable": frozen}


def peak_rss_bytes():
    """Returns the process' peak resident set size in bytes (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def epoch_timer(keras):
    """Returns a Keras callback whose .seconds lists each epoch's wall time
    (training and validation)."""
    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def train(keras, name, model, data, args):
    """Compiles and fits model on data = ((x, y), (x_val, y_val)).

    Prints the summary, Keras' per-epoch lines and "Time taken"; returns the
    stage's JSON summary.
    """
    (x, y), val = data
    compile_model(keras, model)
    model.summary()
    timer = epoch_timer(keras)
    start = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
                        shuffle=True, validation_data=val,
                        verbose=args.verbose, callbacks=[timer])
    taken = time.perf_counter() - start
    rss = peak_rss_bytes()
    print(f"Time taken: {taken:.2f}s", flush=True)

    h = history.history
    epochs = [{
        "epoch": i + 1,
        "loss": float(h["loss"][i]),
        "accuracy": float(h["accuracy"][i]),
        "val_loss": float(h["val_loss"][i]),
        "val_accuracy": float(h["val_accuracy"][i]),
        "seconds": timer.seconds[i],
    } for i in range(len(timer.seconds))]
    return {"name": name, "epochs": epochs, "time_taken": taken,
            "peak_rss_bytes": rss, "params": param_counts(model),
            "jit_compile": bool(model.jit_compile)}


def write_json(path, summary):
    """Writes summary to path through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".keras_reference.", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def parse_stages(text):
    """Parses --stages ("base", "base,transfer"); transfer needs base."""
    stages = [s.strip() for s in text.split(",") if s.strip()]
    for s in stages:
        if s not in STAGES:
            raise argparse.ArgumentTypeError(
                f"unknown stage {s!r}; want {', '.join(STAGES)}")
    if "transfer" in stages and "base" not in stages:
        raise argparse.ArgumentTypeError(
            "stage transfer reuses the trained base; add base")
    return [s for s in STAGES if s in stages]


def positive(text):
    """argparse type: an integer > 0."""
    n = int(text)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{n} is not > 0")
    return n


def non_negative(text):
    """argparse type: an integer >= 0."""
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is < 0")
    return n


def parse_args(argv):
    """Parses the command line."""
    p = argparse.ArgumentParser(
        description="Keras reference of the tfcifar workflow (REFERENCE.md).")
    p.add_argument("--data", default=DEFAULT_DATA,
                   help="directory of the CIFAR-10 binary files "
                        "(default: $TFCIFAR_DATA or "
                        "../shared/data/cifar-10-batches-bin from the repo root)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for keras.utils.set_random_seed (default 0)")
    p.add_argument("--threads-intra", type=non_negative, default=0,
                   help="intra-op threads; 0 lets TensorFlow choose (default)")
    p.add_argument("--threads-inter", type=non_negative, default=0,
                   help="inter-op threads; 0 lets TensorFlow choose (default)")
    p.add_argument("--epochs", type=positive, default=5)
    p.add_argument("--batch-size", type=positive, default=100)
    p.add_argument("--stages", type=parse_stages, default=list(STAGES),
                   help="comma-separated stages to run (default base,transfer)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                   help="Keras fit verbosity (default 2: one line per epoch)")
    p.add_argument("--json", metavar="OUT.json",
                   help="write the JSON summary there")
    p.add_argument("--save-base", metavar="BASE.keras",
                   help="save the trained base model there (model.save), "
                        "for tfcifar to reuse with from: {keras: BASE.keras}")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for name in TRAIN_FILES + [TEST_FILE]:
        if not os.path.isfile(os.path.join(args.data, name)):
            sys.exit(f"keras_reference: {os.path.join(args.data, name)} not "
                     "found; pass --data or set TFCIFAR_DATA")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import keras

    # Thread pools must be set before TensorFlow runs its first op.
    tf.config.threading.set_intra_op_parallelism_threads(args.threads_intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads_inter)
    keras.utils.set_random_seed(args.seed)

    # Each stage's half is split from the files up front (uint8), and the
    # whole files are dropped: only what the stages train on is kept, and
    # each half is released when its stage is done.
    train_set, test_set = load(args.data)
    halves = {stage: split_half(train_set, test_set, HALVES[half])
              for stage, half in (("base", "below5"), ("transfer", "other5"))
              if stage in args.stages}
    del train_set, test_set
    summary = {
        "tf_version": tf.__version__,
        "keras_version": keras.__version__,
        "threads": {"intra": args.threads_intra, "inter": args.threads_inter},
        "seed": args.seed,
        "data": os.path.abspath(args.data),
        "stages": [],
    }

    base = base_model(keras)
    if "base" in args.stages:
        summary["stages"].append(train(
            keras, "base", base, halves.pop("base"), args))
        gc.collect()  # the base half, and what fit built around it
        if args.save_base:
            base.save(args.save_base)
    if "transfer" in args.stages:
        summary["stages"].append(train(
            keras, "transfer", transfer_model(keras, base),
            halves.pop("transfer"), args))

    summary["peak_rss_bytes"] = peak_rss_bytes()
    print(f"Peak RSS: {summary['peak_rss_bytes'] / 2**20:.1f} MiB")
    if args.json:
        write_json(args.json, summary)


if __name__ == "__main__":
    main()
