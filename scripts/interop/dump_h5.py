#!/usr/bin/env python3
"""Prints the tree of an HDF5 file as h5py reads it, as JSON.

usage: dump_h5.py FILE

One JSON object: path -> {"attrs": {name: value}} for groups and
{"attrs", "shape", "dtype", "values"} for datasets (values flattened, in
row-major order). String attributes are printed as text.
"""

import json
import sys

import h5py


def main():
    tree = {}

    def attrs(obj):
        out = {}
        for k, v in obj.attrs.items():
            out[k] = v.decode() if isinstance(v, bytes) else str(v)
        return out

    def visit(name, obj):
        entry = {"attrs": attrs(obj)}
        if isinstance(obj, h5py.Dataset):
            entry.update(shape=list(obj.shape), dtype=str(obj.dtype), values=obj[()].ravel().tolist())
        tree[name] = entry

    with h5py.File(sys.argv[1], "r") as f:
        tree["/"] = {"attrs": attrs(f)}
        f.visititems(visit)
    print(json.dumps(tree, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
