#!/usr/bin/env python3
"""Tests of keras_reference.py on small synthetic CIFAR-10 files.

Run with the virtualenv of setup-python.sh (about half a minute):

    py=$(scripts/setup-python.sh | tail -n1)
    "$py" scripts/keras_reference_test.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_reference as ref  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "keras_reference.py")


def record(label, seed):
    """Returns one 3073-byte record: label, then R, G, B planes whose pixel
    (y, x) of channel c holds (seed + 7*c + 3*y + x) mod 256."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(32), np.arange(32),
                          indexing="ij")
    planes = ((seed + 7 * c + 3 * y + x) % 256).astype(np.uint8)
    return bytes([label]) + planes.tobytes()


def write_data(directory, per_file):
    """Writes data_batch_1..5.bin and test_batch.bin with per_file records
    each; record j of every file has label j mod 10 and seed
    (file index * 100 + j). Returns the directory."""
    for f, name in enumerate(ref.TRAIN_FILES + [ref.TEST_FILE]):
        with open(os.path.join(directory, name), "wb") as out:
            for j in range(per_file):
                out.write(record(j % 10, f * 100 + j))
    return directory


class ReadBatchTest(unittest.TestCase):
    def test_valid(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "b.bin")
            with open(path, "wb") as out:
                out.write(record(3, 0) + record(9, 50))
            images, labels = ref.read_batch(path)
        cases = [
            ("shape is NHWC", images.shape, (2, 32, 32, 3)),
            ("labels in file order", labels.tolist(), [3, 9]),
            ("red plane is channel 0", int(images[0, 0, 0, 0]), 0),
            ("green plane is channel 1", int(images[0, 0, 0, 1]), 7),
            ("blue plane is channel 2", int(images[0, 0, 0, 2]), 14),
            ("rows before columns", int(images[0, 2, 1, 0]), 7),
            ("second record", int(images[1, 31, 31, 2]), (50 + 14 + 93 + 31)),
        ]
        for name, got, want in cases:
            with self.subTest(name):
                self.assertEqual(got, want)

    def test_errors(self):
        cases = [
            ("empty file", b""),
            ("partial record", record(1, 0)[:-1]),
            ("label above 9", record(10, 0)),
        ]
        for name, content in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "b.bin")
                with open(path, "wb") as out:
                    out.write(content)
                with self.assertRaisesRegex(ValueError, "b.bin"):
                    ref.read_batch(path)


class SplitHalfTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        # 5 train files x 20 + 1 test file x 20 records; each half keeps
        # 2 per class per file: 50 train + 10 test = 60 images.
        self.train, self.test = ref.load(write_data(self.dir.name, 20))

    def tearDown(self):
        self.dir.cleanup()

    def test_halves(self):
        def selected(images, labels, classes):
            keep = (labels >= classes.start) & (labels < classes.stop)
            return images[keep].astype(np.float32)

        for half, classes in ref.HALVES.items():
            with self.subTest(half):
                (x, y), (xv, yv) = ref.split_half(self.train, self.test,
                                                  classes)
                self.assertEqual((x.shape, xv.shape),
                                 ((48, 32, 32, 3), (12, 32, 32, 3)))
                self.assertEqual((y.shape, yv.shape), ((48, 5), (12, 5)))
                # Pixels stay uint8 until the network's Input casts them.
                self.assertEqual((x.dtype, y.dtype), (np.uint8, np.float32))
                np.testing.assert_array_equal(y.sum(axis=1), np.ones(48))
                # Selected train images first, in order, then the selected
                # test images; labels relabelled 0-4.
                want = np.concatenate([selected(*self.train, classes),
                                       selected(*self.test, classes)])
                np.testing.assert_array_equal(np.concatenate([x, xv]), want)
                np.testing.assert_array_equal(
                    np.concatenate([y, yv]).argmax(axis=1),
                    [i % 5 for i in range(60)])

    def test_raw_pixels(self):
        (x, _), _ = ref.split_half(self.train, self.test, ref.HALVES["below5"])
        self.assertEqual(float(x[0, 0, 0, 1]), 7.0)  # not scaled


class ParseStagesTest(unittest.TestCase):
    def test_valid(self):
        cases = [
            ("base only", "base", ["base"]),
            ("both", "base,transfer", ["base", "transfer"]),
            ("run order kept", "transfer,base", ["base", "transfer"]),
            ("spaces", " base , transfer ", ["base", "transfer"]),
        ]
        for name, text, want in cases:
            with self.subTest(name):
                self.assertEqual(ref.parse_stages(text), want)

    def test_errors(self):
        cases = [
            ("unknown stage", "base,head"),
            ("transfer without base", "transfer"),
        ]
        for name, text in cases:
            with self.subTest(name):
                with self.assertRaises(argparse.ArgumentTypeError):
                    ref.parse_stages(text)


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        cls.keras = keras
        keras.utils.set_random_seed(1)

    def test_params(self):
        base = ref.base_model(self.keras)
        counts = {"base": ref.param_counts(base)}
        before = [w.numpy().copy() for w in base.weights]
        transfer = ref.transfer_model(self.keras, base)
        counts["transfer"] = ref.param_counts(transfer)
        cases = [
            ("base", {"total": 418837, "trainable": 418837,
                      "non_trainable": 0}),
            ("transfer", {"total": 418837, "trainable": 410373,
                          "non_trainable": 8464}),
        ]
        for name, want in cases:
            with self.subTest(name):
                self.assertEqual(counts[name], want)
        with self.subTest("reused layers share the base weights"):
            for b, t in zip(base.layers[:ref.FROZEN],
                            transfer.layers[:ref.FROZEN]):
                self.assertIs(b, t)
            for w, want in zip(base.layers[0].weights, before):
                np.testing.assert_array_equal(w.numpy(), want)

    def test_uint8_pixels_cast_as_float32(self):
        # split_half keeps pixels uint8: the network must compute exactly
        # what it computes on the same pixels cast to float32.
        base = ref.base_model(self.keras)
        pixels = (np.arange(2 * 32 * 32 * 3) * 37 % 256).reshape(2, 32, 32, 3)
        got = base(pixels.astype(np.uint8), training=False).numpy()
        want = base(pixels.astype(np.float32), training=False).numpy()
        self.assertEqual(got.dtype, np.float32)
        np.testing.assert_array_equal(got, want)

    def test_frozen_dropout_drops(self):
        transfer = ref.transfer_model(self.keras, ref.base_model(self.keras))
        x = np.full((4, 32, 32, 3), 100.0, dtype=np.float32)
        a = transfer(x, training=True).numpy()
        b = transfer(x, training=True).numpy()
        c = transfer(x, training=False).numpy()
        d = transfer(x, training=False).numpy()
        self.assertGreater(np.abs(a - b).max(), 1e-6)
        np.testing.assert_allclose(c, d, atol=1e-6)


class CommandTest(unittest.TestCase):
    def run_script(self, *args):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        return subprocess.run([sys.executable, SCRIPT, *args], env=env,
                              capture_output=True, text=True, timeout=300)

    def test_run(self):
        with tempfile.TemporaryDirectory() as d:
            write_data(d, 50)
            out = os.path.join(d, "out.json")
            saved = os.path.join(d, "base.keras")
            p = self.run_script("--data", d, "--epochs", "2",
                                "--batch-size", "25", "--seed", "3",
                                "--threads-intra", "1", "--threads-inter", "1",
                                "--json", out, "--save-base", saved)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                s = json.load(f)
            with zipfile.ZipFile(saved) as z:
                self.assertLessEqual({"config.json", "model.weights.h5"}, set(z.namelist()))
        self.assertEqual(p.stdout.count("Time taken:"), 2)
        self.assertEqual(s["seed"], 3)
        self.assertEqual(s["threads"], {"intra": 1, "inter": 1})
        self.assertEqual([st["name"] for st in s["stages"]],
                         ["base", "transfer"])
        self.assertEqual(s["stages"][1]["params"],
                         {"total": 418837, "trainable": 410373,
                          "non_trainable": 8464})
        self.assertGreaterEqual(s["peak_rss_bytes"],
                                s["stages"][1]["peak_rss_bytes"])
        for st in s["stages"]:
            with self.subTest(st["name"]):
                self.assertEqual([e["epoch"] for e in st["epochs"]], [1, 2])
                self.assertFalse(st["jit_compile"])
                self.assertGreater(st["time_taken"],
                                   sum(e["seconds"] for e in st["epochs"]) * 0.9)
                for e in st["epochs"]:
                    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
                        self.assertTrue(np.isfinite(e[k]), k)

    def test_errors(self):
        cases = [
            ("missing data", ["--data", "/nonexistent"], "not found"),
            ("bad stage", ["--stages", "head"], "unknown stage"),
            ("zero epochs", ["--epochs", "0"], "not > 0"),
        ]
        for name, args, want in cases:
            with self.subTest(name):
                p = self.run_script(*args)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr)


if __name__ == "__main__":
    unittest.main()
