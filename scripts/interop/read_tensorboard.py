#!/usr/bin/env python3
"""Reads TensorBoard event files with TensorBoard's EventAccumulator.

usage: read_tensorboard.py LOGDIR

Every directory under LOGDIR (LOGDIR included) that holds event files
(events.out.tfevents.*) is one run, read as TensorBoard reads it. Tags of
runs below LOGDIR are prefixed with the run's path and "/" (Keras writes
LOGDIR/train and LOGDIR/validation: "train/epoch_loss").

Prints one JSON object:

  {"scalars": {tag: [[step, value], ...]},
   "histograms": {tag: [step, ...]},
   "histogram_stats": {tag: [{"step", "num", "min", "max", "sum",
                              "sum_squares"}, ...]},
   "graph": true|false,
   "graph_nodes": number of nodes of the first graph found (runs in
                  path order, LOGDIR first), 0 without one}

Scalars are those TensorBoard's Scalars tab shows: simple values (what
TensorFlow's WriteScalarSummary op writes) and tensor summaries of the
scalars plugin (what tf.summary.scalar and Keras write). Histograms are
HistogramProto summaries (WriteHistogramSummary, TF1 tf.summary.histogram)
and tensor summaries of the histograms plugin (tf.summary.histogram,
Keras); histogram_stats lists the former. Points are sorted by step.
"graph" is an op graph (a graph_def event: WriteGraphSummary,
tf.summary.graph); Keras 3's callback writes none, only its conceptual
model graph (the graph_keras_model plugin), which is not counted.
"""

import json
import os
import sys

# TensorBoard reads event files with its own reader when TensorFlow is not
# installed, as in a TensorBoard-only install; not loading TensorFlow makes
# this script start in a fraction of the time.
sys.modules["tensorflow"] = None

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.util import tensor_util

# Keep every event: size guidance 0 means no sampling.
KEEP_ALL = {
    ea.COMPRESSED_HISTOGRAMS: 0,
    ea.IMAGES: 0,
    ea.AUDIO: 0,
    ea.SCALARS: 0,
    ea.HISTOGRAMS: 0,
    ea.TENSORS: 0,
}


def runs(logdir):
    """Yields (prefix, directory) of each run under logdir, in path order."""
    found = []
    for root, dirs, files in os.walk(logdir):
        dirs.sort()
        if any(ea.io_wrapper.IsSummaryEventsFile(os.path.join(root, f)) for f in files):
            rel = os.path.relpath(root, logdir)
            found.append(("" if rel == "." else rel.replace(os.sep, "/") + "/", root))
    return found


def read(logdir):
    out = {"scalars": {}, "histograms": {}, "histogram_stats": {}, "graph": False, "graph_nodes": 0}
    for prefix, path in runs(logdir):
        acc = ea.EventAccumulator(path, size_guidance=KEEP_ALL)
        acc.Reload()
        tags = acc.Tags()
        for tag in tags[ea.SCALARS]:
            out["scalars"][prefix + tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
        for tag in tags[ea.HISTOGRAMS]:
            events = acc.Histograms(tag)
            out["histograms"][prefix + tag] = [e.step for e in events]
            out["histogram_stats"][prefix + tag] = [
                {
                    "step": e.step,
                    "num": e.histogram_value.num,
                    "min": e.histogram_value.min,
                    "max": e.histogram_value.max,
                    "sum": e.histogram_value.sum,
                    "sum_squares": e.histogram_value.sum_squares,
                }
                for e in events
            ]
        for tag in tags[ea.TENSORS]:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            events = acc.Tensors(tag)
            if plugin == "scalars":
                out["scalars"][prefix + tag] = [
                    [e.step, float(tensor_util.make_ndarray(e.tensor_proto).item())] for e in events
                ]
            elif plugin == "histograms":
                out["histograms"][prefix + tag] = [e.step for e in events]
        if tags[ea.GRAPH] and not out["graph"]:
            out["graph"] = True
            out["graph_nodes"] = len(acc.Graph().node)
    for kind in ("scalars", "histograms", "histogram_stats"):
        for points in out[kind].values():
            points.sort(key=step_of)
    return out


def step_of(point):
    if isinstance(point, dict):
        return point["step"]
    if isinstance(point, list):
        return point[0]
    return point


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: read_tensorboard.py LOGDIR")
    logdir = sys.argv[1]
    if not os.path.isdir(logdir):
        sys.exit(f"read_tensorboard.py: {logdir}: not a directory")
    json.dump(read(logdir), sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
