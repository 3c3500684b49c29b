#!/usr/bin/env python3
"""Checks the fingerprint.pb of SavedModel directories against TensorFlow.

usage: check_fingerprint.py EXPORT_DIR...

Each EXPORT_DIR's fingerprint.pb is read with
tf.saved_model.experimental.read_fingerprint and as a FingerprintDef; every
hash and the version must equal what TensorFlow's own fingerprinter (the
C++ CreateFingerprintDef that tf.saved_model.save runs) computes for the
same directory, and the uuid, random by design, must be a decimal 128-bit
number of at least 20 digits. Prints one line per directory and exits 1 if
any differs.
"""

import re
import sys

import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2
from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting as fingerprinting_pywrap

HASHES = ("saved_model_checksum", "graph_def_program_hash", "signature_def_hash",
          "saved_object_graph_hash", "checkpoint_hash")


def compare(export_dir):
    """Returns (ok, line) comparing export_dir's fingerprint.pb with TensorFlow's."""
    with open(f"{export_dir}/fingerprint.pb", "rb") as f:
        got = fingerprint_pb2.FingerprintDef.FromString(f.read())
    want = fingerprint_pb2.FingerprintDef.FromString(fingerprinting_pywrap.CreateFingerprintDef(export_dir))
    read = tf.saved_model.experimental.read_fingerprint(export_dir)
    diffs = [f"{h} {getattr(got, h)}, TensorFlow {getattr(want, h)}" for h in HASHES
             if getattr(got, h) != getattr(want, h)]
    if got.version.producer != want.version.producer:
        diffs.append(f"version.producer {got.version.producer}, TensorFlow {want.version.producer}")
    if not re.fullmatch(r"[0-9]{20,39}", got.uuid) or int(got.uuid) >= 1 << 128:
        diffs.append(f"uuid {got.uuid!r} is no decimal 128-bit number of 20 or more digits")
    if read.singleprint() != "/".join(str(getattr(want, h)) for h in HASHES[1:]):
        diffs.append(f"read_fingerprint singleprint {read.singleprint()}")
    if diffs:
        return False, f"{export_dir}: fingerprint.pb differs from TensorFlow's: " + "; ".join(diffs)
    return True, (f"{export_dir}: fingerprint.pb equals TensorFlow's ({', '.join(HASHES)}, "
                  f"producer {want.version.producer}), singleprint {read.singleprint()}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for d in sys.argv[1:]:
        ok, line = compare(d)
        print(("ok   " if ok else "FAIL ") + line)
        failed = failed or not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
