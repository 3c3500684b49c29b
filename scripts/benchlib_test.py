#!/usr/bin/env python3
"""Tests of benchlib.py (scripts/bench's parsing, summaries, BENCHMARKS.md
sections, stored results and chart) on synthetic inputs; a few seconds.

    py=$(scripts/setup-python.sh | tail -n1)
    "$py" scripts/benchlib_test.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

# Two cores with two threads each; the flags of a CPU with AVX-512 VNNI and
# AMX but without AVX-512 BF16.
CPUINFO = "".join(f"""processor\t: {i}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
siblings\t: 4
core id\t: {i // 2}
cpu cores\t: 2
flags\t\t: fpu sse avx avx2 fma avx512f avx512dq avx512_vnni amx_tile amx_int8 avx512_vbmi

""" for i in range(4))

# What TensorFlow 2.21's oneDNN prints, amid TensorFlow's own lines.
ONEDNN_V1 = """I0000 00:00:1795803750.096031    4153 port.cc:153] oneDNN custom operations are on.
onednn_verbose,v1,info,oneDNN v3.7.3 (commit N/A)
onednn_verbose,v1,info,cpu,runtime:threadpool,nthr:2
onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost
onednn_verbose,v1,info,gpu,runtime:none
onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation,prop_kind,memory_descriptors
onednn_verbose,v1,graph,info,template:operation,engine,partition_id,partition_kind,op_names
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,alg:convolution_direct,mb1_ic3oc4,0.02
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:abcd::f0,,,1x3x8x8,0.01
onednn_verbose,v1,graph,exec,cpu,100002,sdp,,,,,,,0.1
"""

# Older libraries: dnnl_ prefix, no v1 field; and a timestamped v1 line.
ONEDNN_OLD = """dnnl_verbose,info,DNNL v1.6.4 (commit 1234)
dnnl_verbose,info,cpu,isa:Intel AVX2
dnnl_verbose,exec,cpu,convolution,jit:avx2,forward_training,src_f32::blocked:abcd:f0,,alg:convolution_direct,mb2,0.1
onednn_verbose,v1,1693580323.546,primitive,exec,cpu,pooling,jit:avx2,forward_inference,src,,alg:pooling_max,mb2,0.01
"""


def result(times, keras_times, accs=(0.64, 0.64), keras_accs=(0.64, 0.64), rss=(600, 1200),
           label="float32, the default configuration", rounds=3, side=None):
    """A bench result of rounds identical rounds but for the times, which
    are per stage (base, transfer) lists of per-round values; side, per
    round, the side-by-side copies' times per stage (None: no copies)."""
    out = {"variant": "default", "label": label, "command": "scripts/bench --rounds 3", "date": "2026-01-02",
           "epochs": 5, "software": {"tensorflow": "2.21.0", "libtensorflow": "2.21.0", "keras": "3.15.1",
                                     "onednn": "3.7.3"},
           "threads": {"intra": 0, "inter": 0, "usable_cpus": 2, "onednn": 2}, "matmul_gflops": 200.0,
           "stages": ["base", "transfer"],
           "peak_rss_bytes": {"tfcifar": rss[0] * 2**20, "keras": rss[1] * 2**20}, "rounds": []}
    for r in range(rounds):
        rnd = {"seed": r + 1, "first": "tfcifar" if r % 2 == 0 else "keras"}
        for who, ts, acc in (("tfcifar", times, accs), ("keras", keras_times, keras_accs)):
            rnd[who] = {"peak_rss_bytes": (rss[0] if who == "tfcifar" else rss[1]) * 2**20,
                        "stages": {name: {"time": ts[i][r], "val_accuracy": acc[i],
                                          "flops": 2e12 if who == "tfcifar" else None}
                                   for i, name in enumerate(("base", "transfer"))}}
        if side and side[r]:
            rnd["side_by_side"] = {"copies": len(side[r][0]), "stages": dict(zip(("base", "transfer"), side[r]))}
        out["rounds"].append(rnd)
    return out


CPU_A = {"model": "Intel(R) Xeon(R) Platinum 8480+", "logical_cpus": 2, "cores": 2,
         "flags": ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"],
         "onednn": benchlib.parse_onednn(ONEDNN_V1)}
CPU_B = {"model": "AMD EPYC 9B14", "logical_cpus": 2, "cores": 1,
         "flags": ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"], "onednn": benchlib.parse_onednn(ONEDNN_OLD)}


class MachineTest(unittest.TestCase):
    def test_cpuinfo(self):
        cpu = benchlib.parse_cpuinfo(CPUINFO)
        self.assertEqual(cpu, {"model": "Intel(R) Xeon(R) Platinum 8480+", "logical_cpus": 4, "cores": 2,
                               "flags": ["avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8"]})
        self.assertEqual(benchlib.isa_names(cpu["flags"]), "AVX2, AVX-512, AVX-512 VNNI, AMX, AMX INT8")

    def test_cpuinfo_without_topology(self):
        text = "processor : 0\nmodel name : Some CPU\nflags : avx2\n\nprocessor : 1\nmodel name : Some CPU\n"
        cpu = benchlib.parse_cpuinfo(text)
        self.assertEqual((cpu["logical_cpus"], cpu["cores"], cpu["flags"]), (2, 2, ["avx2"]))
        self.assertEqual(benchlib.isa_names(cpu["flags"]), "AVX2, no AVX-512, no AMX")

    def test_cpuinfo_empty(self):
        with self.assertRaisesRegex(ValueError, "no processor"):
            benchlib.parse_cpuinfo("\n\n")

    def test_onednn(self):
        cases = [
            ("v1 lines amid others", ONEDNN_V1,
             {"version": "3.7.3", "isa": "Intel AVX-512 with Intel DL Boost", "threads": 2,
              "kernels": ["brg_conv_fwd:avx512_core", "jit:uni"]}),
            ("dnnl prefix, timestamps", ONEDNN_OLD,
             {"version": "1.6.4", "isa": "Intel AVX2", "threads": None, "kernels": ["jit:avx2"]}),
            ("nothing printed", "2.21.0\n", {"version": None, "isa": None, "threads": None, "kernels": []}),
        ]
        for name, text, want in cases:
            with self.subTest(name):
                self.assertEqual(benchlib.parse_onednn(text), want)

    def test_keys(self):
        self.assertEqual(benchlib.cpu_key({"model": "Intel(R) Xeon(R) Processor", "flags": ["avx2", "avx512f"]}),
                         "intel-xeon-processor-avx2-avx512f")
        self.assertNotEqual(benchlib.cpu_key(CPU_A), benchlib.cpu_key({**CPU_A, "flags": CPU_A["flags"][:3]}))
        cases = [
            ("", 5, "default"),
            ("-set run.precision=mixed_bfloat16", 5, "set-run-precision-mixed-bfloat16"),
            ("", 1, "default-epochs1"),
        ]
        for args, epochs, want in cases:
            with self.subTest(want):
                self.assertEqual(benchlib.variant_key(args, epochs), want)


class TreeRSSTest(unittest.TestCase):
    def test_counts_grandchildren(self):
        # The child starts a grandchild that holds 64 MiB, then both wait.
        code = ("import subprocess, sys; "
                "g = subprocess.Popen([sys.executable, '-c', "
                "'import sys; b = bytearray(64 << 20); print(\"ready\", flush=True); sys.stdin.read()'], "
                "stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True); "
                "print(g.pid, g.stdout.readline().strip(), flush=True); sys.stdin.read(); g.stdin.close(); g.wait()")
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        try:
            gpid, ready = child.stdout.readline().split()
            self.assertEqual(ready, "ready")
            self.assertIn(int(gpid), benchlib.tree_pids(child.pid))
            self.assertEqual(sorted(benchlib._tree_from_stat(child.pid, "/proc")),
                             sorted(benchlib.tree_pids(child.pid)))
            poller = benchlib.TreeRSSPoller(child.pid, interval=0.01)
            total = benchlib.tree_rss(child.pid)
            self.assertGreater(total, benchlib.tree_rss(int(gpid)))
            self.assertGreater(total, 64 << 20)
            self.assertGreaterEqual(poller.stop(), 64 << 20)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
            child.stdout.close()


class SummaryTest(unittest.TestCase):
    def test_medians_ratios_floor(self):
        r = result([[30, 20, 25], [6, 9, 3]], [[50, 60, 40], [20, 21, 22]],
                   accs=(0.65, 0.72), keras_accs=(0.64, 0.74), rss=(600, 1000))
        s = benchlib.summarize(r)
        base, transfer = s["stages"]
        self.assertEqual((base["time"], base["keras_time"]), (25, 50))
        self.assertAlmostEqual(base["ratio"], 0.5)
        self.assertAlmostEqual(base["points"], 1.0)
        self.assertAlmostEqual(transfer["ratio"], 6 / 21)
        self.assertAlmostEqual(transfer["points"], -2.0)
        self.assertAlmostEqual(base["floor"], 10.0)  # 2e12 FLOPs at 200 GFLOP/s
        self.assertAlmostEqual(base["fraction"], 0.4)
        self.assertAlmostEqual(s["rss_ratio"], 0.6)
        self.assertIsNone(base["side_floor"])
        met = {name: ok for name, _, _, ok, _ in s["targets"]}
        self.assertEqual(met, {"base time / Keras": False, "transfer time / Keras": False,
                               "peak RSS / Keras": False, "base val_accuracy - Keras (mean)": True,
                               "transfer val_accuracy - Keras (mean)": False})

    def test_targets_met(self):
        s = benchlib.summarize(result([[20] * 3, [3] * 3], [[50] * 3, [21] * 3], rss=(500, 1000)))
        self.assertTrue(all(ok for _, _, _, ok, _ in s["targets"]), s["targets"])

    def test_side_by_side_floor(self):
        # Two copies per round: the floor of a round is their mean / 2; a
        # round without copies does not count.
        side = [[[44, 46], [10, 12]], [[50, 54], [9, 9]], None, [[40, 40], [8, 8]]]
        s = benchlib.summarize(result([[30] * 4, [7] * 4], [[50] * 4, [20] * 4], rounds=4, side=side))
        base, transfer = s["stages"]
        self.assertAlmostEqual(base["side_floor"], 22.5)  # median of 22.5, 26, 20
        self.assertAlmostEqual(base["side_ratio"], 0.45)
        self.assertAlmostEqual(transfer["side_floor"], 4.5)  # median of 5.5, 4.5, 4
        floors = {name: side for name, _, _, _, side in s["targets"]}
        self.assertAlmostEqual(floors["base time / Keras"], 0.45)
        self.assertAlmostEqual(floors["transfer time / Keras"], 0.225)
        self.assertIsNone(floors["peak RSS / Keras"])
        block = benchlib.render_section("a/default", CPU_A, result([[30] * 4, [7] * 4], [[50] * 4, [20] * 4],
                                                                   rounds=4, side=side))
        self.assertIn("| 0.60 | <= 0.45 | **no** | 0.45 |", block)  # the limit is not below 0.45
        self.assertIn("| 0.35 | <= 0.15 | **no** | 0.23: the limit is below it |", block)
        self.assertIn("| 2000 | 10.0 s | 33 % | 22.5 s (0.45) |", block)
        self.assertIn("ran 2 copies of tfcifar at once with one thread each, one per usable CPU.", block)
        three = benchlib.render_section("a/default", CPU_A, result([[30] * 3, [7] * 3], [[50] * 3, [20] * 3],
                                                                   side=[[[60, 60, 63], [9, 9, 9]]] * 3))
        self.assertIn("ran 3 copies of tfcifar at once with one thread each. The machine did 3", three)
        self.assertIn("| 2000 | 10.0 s | 33 % | 20.3 s (0.41) |", three)
        self.assertIn("| side by side, one thread each (per copy) |\n|---|---|---|---|---|\n", block)
        self.assertIn("| 44.0 s, 46.0 s / 10.0 s, 12.0 s |", block)
        self.assertIn("| - |", block)  # the round without copies

    def test_section(self):
        block = benchlib.render_section("a/default", CPU_A, result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3]))
        lines = block.splitlines()
        self.assertEqual(lines[0], "<!-- bench:begin a/default -->")
        self.assertEqual(lines[-1], "<!-- bench:end -->")
        self.assertEqual(lines[1], "## Intel(R) Xeon(R) Platinum 8480+ (AVX2, AVX-512, AVX-512 VNNI, AVX-512 BF16, "
                                   "AMX, AMX BF16, AMX INT8): float32, the default configuration")
        self.assertIn("Command: `scripts/bench --rounds 3`", block)
        self.assertIn("| base | 30.0 s | 50.0 s | **0.60** |", block)
        self.assertIn("oneDNN 3.7.3 dispatches to: Intel AVX-512 with Intel DL Boost", block)
        self.assertIn("| base time / Keras | 0.60 | <= 0.45 | **no** |  |", block)
        self.assertIn("| 2000 | 10.0 s | 33 % | n/a |", block)
        self.assertNotIn("Side-by-side floor:", block)
        self.assertIn("| seed | first | tfcifar | Keras |\n|---|---|---|---|\n", block)
        self.assertEqual(sum(line.startswith("| 2 | keras |") for line in lines), 1)
        self.assertNotIn("Only", block)
        one = benchlib.render_section("a/default", CPU_A, result([[30], [6]], [[50], [20]], rounds=1))
        self.assertIn("Only 1 round: the targets are judged on medians of at least 3.", one)
        self.assertNotIn("bench:", benchlib.render_terminal(block))
        noted = benchlib.render_section("a/default", {**CPU_A, "note": "recorded by hand."},
                                        {**result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3]), "note": "Older Keras."})
        self.assertIn("\nMachine: recorded by hand.\nTensorFlow 2.21.0", noted)
        self.assertIn("\n\nOlder Keras.\n\n| stage |", noted)
        self.assertNotIn("/proc/cpuinfo", noted)


class DocTest(unittest.TestCase):
    INTRO = "# Benchmarks\n\nHow it is measured.\n"
    NOTES = "\n## Notes\n\nWritten by hand.\n"

    def block(self, key, text):
        return f"<!-- bench:begin {key} -->\n## {text}\n<!-- bench:end -->\n"

    def test_update_keeps_other_sections(self):
        a = self.block("cpu-a/default", "A")
        doc = self.INTRO + "\n" + a + self.NOTES
        # A new CPU goes before the first section: A's notes stay after A.
        with_b = benchlib.update_doc(doc, "cpu-b/default", self.block("cpu-b/default", "B"))
        self.assertEqual(with_b, self.INTRO + "\n" + self.block("cpu-b/default", "B") + "\n" + a + self.NOTES)
        again = benchlib.update_doc(with_b, "cpu-b/default", self.block("cpu-b/default", "B2"))
        self.assertEqual(again, self.INTRO + "\n" + self.block("cpu-b/default", "B2") + "\n" + a + self.NOTES)
        # A second configuration of CPU A goes after A's section, before A's notes.
        a2 = benchlib.update_doc(again, "cpu-a/bf16", self.block("cpu-a/bf16", "A bf16"))
        self.assertEqual(a2, self.INTRO + "\n" + self.block("cpu-b/default", "B2") + "\n" + a + "\n"
                         + self.block("cpu-a/bf16", "A bf16") + self.NOTES)
        # Rewriting A leaves B byte for byte.
        new_a = benchlib.update_doc(a2, "cpu-a/default", self.block("cpu-a/default", "A2"))
        self.assertTrue(new_a.startswith(self.INTRO + "\n" + self.block("cpu-b/default", "B2") + "\n"))
        self.assertIn("\n" + self.block("cpu-a/default", "A2") + "\n", new_a)
        self.assertEqual(new_a.count("bench:begin"), 3)

    def test_new_doc_and_chart_link(self):
        link = "![chart](benchmarks/times.png)"
        doc = benchlib.update_doc(self.INTRO, "cpu-a/default", self.block("cpu-a/default", "A"), link)
        self.assertEqual(doc, self.INTRO + "\n" + link + "\n\n" + self.block("cpu-a/default", "A"))
        doc2 = benchlib.update_doc(doc, "cpu-b/default", self.block("cpu-b/default", "B"), link)
        self.assertEqual(doc2.count("benchmarks/times.png"), 1)
        self.assertEqual(benchlib.update_doc("", "k/v", self.block("k/v", "K")), self.block("k/v", "K"))

    def test_unterminated_section(self):
        doc = self.INTRO + "<!-- bench:begin a/default -->\n## A\n" + self.block("b/default", "B")
        with self.assertRaisesRegex(ValueError, "no <!-- bench:end -->"):
            benchlib.update_doc(doc, "b/default", self.block("b/default", "B2"))


class RecordTest(unittest.TestCase):
    INTRO = "# Benchmarks\n\nHow it is measured.\n\n![Time per stage](benchmarks/times.png)\n"
    NOTES = "\n## Notes\n\nWritten by hand.\n"

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def test_record(self):
        with tempfile.TemporaryDirectory() as d:
            doc = os.path.join(d, "BENCHMARKS.md")
            with open(doc, "w") as f:
                f.write(self.INTRO)
            res = os.path.join(d, benchlib.RESULTS_DIR)
            a_json = benchlib.record(doc, CPU_A, "default", result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3]))[0]
            with open(doc, "a") as f:
                f.write(self.NOTES)  # notes written by hand after the first section
            a_section = self.read(doc)[len(self.INTRO):-len(self.NOTES)]
            written = benchlib.record(doc, CPU_B, "default", result([[25] * 3, [7] * 3], [[44] * 3, [22] * 3],
                                                                    side=[[[40, 42], [9, 9]]] * 3))
            self.assertEqual(written, [os.path.join(res, benchlib.cpu_key(CPU_B) + ".json"),
                                       os.path.join(res, "times.png"), doc])
            b_json, b_doc = self.read(written[0]), self.read(doc)
            # CPU B's section came before A's, which stayed byte for byte,
            # followed by the notes.
            self.assertTrue(b_doc.startswith(self.INTRO.encode() + b"\n<!-- bench:begin "
                                             + benchlib.cpu_key(CPU_B).encode()), b_doc.decode())
            self.assertTrue(b_doc.endswith(a_section + self.NOTES.encode()))
            self.assertEqual(b_doc.count(b"benchmarks/times.png"), 1)

            # A second configuration and a new default run on CPU A keep B.
            benchlib.record(doc, CPU_A, "bf16", result([[20] * 3, [5] * 3], [[50] * 3, [20] * 3], label="bf16"))
            benchlib.record(doc, CPU_A, "default", result([[31] * 3, [6] * 3], [[50] * 3, [20] * 3]))
            self.assertEqual(self.read(written[0]), b_json)
            text = self.read(doc).decode()
            b_section = b_doc.decode()[len(self.INTRO) + 1:len(b_doc) - len(a_section) - len(self.NOTES)]
            self.assertTrue(b_section.endswith("<!-- bench:end -->\n"), b_section)
            self.assertTrue(text.startswith(self.INTRO + "\n" + b_section + "\n"), text)
            self.assertTrue(text.endswith(self.NOTES))
            self.assertIn("| base | 31.0 s |", text)
            self.assertEqual(text.count("<!-- bench:begin "), 3)

            stored = benchlib.load_results(res)
            self.assertEqual(sorted(stored[benchlib.cpu_key(CPU_A)]["results"]), ["bf16", "default"])
            with open(a_json) as f:
                a = json.load(f)
            self.assertEqual(a["results"]["default"]["rounds"][0]["tfcifar"]["stages"]["base"]["time"], 31)
            groups = benchlib.chart_groups(stored)
            by_label = {g[0].splitlines()[0] + "/" + g[0].splitlines()[-1]: g[1] for g in groups}
            self.assertEqual(len(by_label), 3)
            self.assertEqual(by_label["AMD EPYC 9B14/float32, the default configuration"]["base"], (25, 44, 10.0, 20.5))
            self.assertEqual(by_label["Intel(R) Xeon(R) Platinum 8480+/bf16"]["transfer"][:2], (5, 20))
            self.assertEqual(self.read(written[1])[:8], b"\x89PNG\r\n\x1a\n")
            self.assertEqual([n for n in os.listdir(res) if n.startswith(".")], [])  # no temporary left

    def test_nothing_written_on_error(self):
        with tempfile.TemporaryDirectory() as d:
            doc = os.path.join(d, "BENCHMARKS.md")
            with open(doc, "w") as f:
                f.write("<!-- bench:begin x/default -->\n")
            with self.assertRaises(ValueError):
                benchlib.record(doc, CPU_A, "default", result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3]))
            self.assertEqual(os.listdir(d), ["BENCHMARKS.md"])

    def test_bad_file(self):
        good = result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3])
        no_time = json.loads(json.dumps(good))
        del no_time["rounds"][1]["keras"]["stages"]["transfer"]["time"]
        one_side = result([[30] * 3, [6] * 3], [[50] * 3, [20] * 3], side=[[[40, 41], [9]], None, None])
        cases = [
            ("not JSON", "{", "Expecting"),
            ("wrong shape", json.dumps({"cpu": "x", "results": {}}), "want an object"),
            ("CPU without flags", json.dumps({"cpu": {**CPU_A, "flags": None}, "results": {}}), "cpu.flags"),
            ("result without rounds", json.dumps({"cpu": CPU_A, "results": {"default": {**good, "rounds": []}}}),
             "results.default: no rounds"),
            ("a round without a time", json.dumps({"cpu": CPU_A, "results": {"default": no_time}}),
             r"results.default.rounds\[1\].keras.stages.transfer.time: missing"),
            ("copies without their times", json.dumps({"cpu": CPU_A, "results": {"default": one_side}}),
             r"results.default.rounds\[0\].side_by_side.stages.transfer: want one time per copy"),
        ]
        for name, content, want in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "broken.json"), "w") as f:
                    f.write(content)
                with self.assertRaisesRegex(ValueError, "broken.json: .*" + want):
                    benchlib.load_results(d)
        with tempfile.TemporaryDirectory() as d:  # and a good one loads
            with open(os.path.join(d, "good.json"), "w") as f:
                json.dump({"cpu": CPU_A, "results": {"default": good}}, f)
            self.assertEqual(list(benchlib.load_results(d)), ["good"])


if __name__ == "__main__":
    unittest.main()
