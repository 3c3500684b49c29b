"""The parts of scripts/bench that are not running programs: reading the
machine (/proc/cpuinfo, oneDNN's verbose lines), measuring a process tree's
memory, summarising rounds, writing the per-CPU sections of BENCHMARKS.md,
the stored results beside it and the chart made from them.

A bench result (one configuration measured on one CPU) is a dict:

    {"variant", "label", "command", "date", "epochs",
     "software": {"tensorflow", "libtensorflow", "keras", "onednn"},
     "threads": {"intra", "inter", "usable_cpus", "onednn"},
     "matmul_gflops",
     "stages": ["base", "transfer"],
     "peak_rss_bytes": {"tfcifar", "keras"},
     "rounds": [{"seed", "first",
                 "tfcifar": {"peak_rss_bytes",
                             "stages": {NAME: {"time", "val_accuracy", "flops"}}},
                 "keras": {...},
                 "side_by_side": {"copies", "stages": {NAME: [time per copy]}}}]}

"side_by_side" (optional) holds the times of the copies of tfcifar that ran
at the same time with one thread each: the side-by-side floor (summarize).

It is stored, with the CPU it ran on, in benchmarks/<cpu key>.json next to
BENCHMARKS.md: {"cpu": {...}, "results": {variant: result}}. The markdown
sections and the chart are made from these files only, so a run on one CPU
rewrites that CPU's file and leaves the other CPUs' results as they are.
"""

import io
import json
import os
import re
import statistics
import tempfile
import textwrap
import threading

# The /proc/cpuinfo flags that decide which kernels TensorFlow's oneDNN
# runs, in the order they are shown, with their names for people.
ISA_FLAGS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_tile": "AMX",
    "amx_bf16": "AMX BF16",
    "amx_int8": "AMX INT8",
}

# The targets: (name, what is compared, limit).
TIME_TARGETS = {"base": 0.45, "transfer": 0.15}
RSS_TARGET = 0.5
ACCURACY_POINTS = 1.5
MIN_ROUNDS = 3

BEGIN = "<!-- bench:begin {key} -->"
END = "<!-- bench:end -->"
BLOCK = re.compile(r"<!-- bench:begin (\S+) -->\n(.*?)<!-- bench:end -->\n", re.S)
RESULTS_DIR = "benchmarks"
CHART = "times.png"


# ---- the machine


def parse_cpuinfo(text):
    """Reads /proc/cpuinfo's text: the model name, the logical CPUs, the
    physical cores (distinct physical id / core id pairs) and which of
    ISA_FLAGS the CPU has. Raises ValueError when there is no processor."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    procs = []
    for b in blocks:
        fields = {}
        for line in b.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "processor" in fields:
            procs.append(fields)
    if not procs:
        raise ValueError("/proc/cpuinfo: no processor entries")
    first = procs[0]
    cores = {(p.get("physical id"), p.get("core id")) for p in procs}
    if (None, None) in cores:
        cores = set(range(len(procs)))
    flags = set(first.get("flags", "").split())
    return {
        "model": first.get("model name") or first.get("Processor") or "unknown CPU",
        "logical_cpus": len(procs),
        "cores": len(cores),
        "flags": [f for f in ISA_FLAGS if f in flags],
    }


def parse_onednn(text):
    """Reads the lines oneDNN prints with ONEDNN_VERBOSE=1 (also the older
    dnnl_ and mkldnn_ prefixes, with or without the v1 and timestamp
    fields) from a program's output, ignoring other lines. Returns
    {"version", "isa", "threads", "kernels"}: the library version, the ISA
    it dispatches to (its "isa:" info line), its thread count and the
    sorted implementations of the primitives it executed (for example
    brg_conv_fwd:avx512_core); None or [] for what was not printed."""
    out = {"version": None, "isa": None, "threads": None, "kernels": []}
    kernels = set()
    for line in text.splitlines():
        m = re.match(r"\s*(?:onednn|dnnl|mkldnn)_verbose,(.*)$", line)
        if not m:
            continue
        fields = [f.strip() for f in m.group(1).split(",")]
        for f in fields:
            if v := re.search(r"(?:oneDNN|DNNL|Intel MKL-DNN)\s+v?(\d+(?:\.\d+)+)", f):
                out["version"] = v.group(1)
            elif f.startswith("isa:"):
                out["isa"] = f[len("isa:"):].strip()
            elif t := re.fullmatch(r"nthr:(\d+)", f):
                out["threads"] = int(t.group(1))
        # exec, engine, primitive kind, implementation (graph lines differ).
        if "exec" in fields and "graph" not in fields:
            i = fields.index("exec")
            if i + 3 < len(fields) and fields[i + 1] in ("cpu", "gpu"):
                kernels.add(fields[i + 3])
    out["kernels"] = sorted(kernels)
    return out


def isa_names(flags):
    """Returns the people's names of the ISA flags, e.g. "AVX2, AVX-512,
    AVX-512 VNNI", and "no AVX-512"/"no AMX" when they are missing."""
    names = [ISA_FLAGS[f] for f in ISA_FLAGS if f in flags]
    if "avx512f" not in flags:
        names.append("no AVX-512")
    if "amx_tile" not in flags:
        names.append("no AMX")
    return ", ".join(names)


def cpu_key(cpu):
    """Returns the file-name key of a CPU: its model and ISA flags, e.g.
    intel-xeon-processor-avx2-avx512f-avx512-vnni (model names alone are
    too generic on virtual machines)."""
    model = re.sub(r"\((?:R|TM)\)", "", cpu["model"], flags=re.I)
    text = " ".join([model] + list(cpu["flags"])).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def variant_key(tfcifar_args, epochs, default_epochs=5):
    """Returns the key of a configuration: "default" for the default
    config, otherwise its tfcifar arguments made a file-name-safe word,
    with the epochs appended when they differ from the reference's."""
    key = re.sub(r"[^a-z0-9]+", "-", tfcifar_args.lower()).strip("-") or "default"
    if epochs != default_epochs:
        key += f"-epochs{epochs}"
    return key


# ---- memory of a process tree


def tree_pids(pid, proc="/proc"):
    """Returns pid and all its descendants, from each thread's children
    list, or from every process' parent in its stat file where the kernel
    has no children lists; processes that end meanwhile are skipped."""
    if not os.path.exists(f"{proc}/{pid}/task/{pid}/children"):
        return _tree_from_stat(pid, proc)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tasks = os.listdir(f"{proc}/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"{proc}/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return out


def _tree_from_stat(pid, proc):
    """tree_pids from the parent field of every /proc/<pid>/stat."""
    children = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc}/{name}/stat") as f:
                # pid (comm) state ppid ...: comm may hold spaces and parentheses.
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_rss(pid, proc="/proc"):
    """Returns the resident bytes of pid and its descendants, summed."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in tree_pids(pid, proc):
        try:
            with open(f"{proc}/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


class TreeRSSPoller:
    """Samples tree_rss(pid) every interval seconds in a thread until
    stop(); .peak is the largest sum seen."""

    def __init__(self, pid, interval=0.1):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            self.peak = max(self.peak, tree_rss(self.pid))
            if self._stop.wait(self.interval):
                return

    def stop(self):
        """Stops sampling; returns the peak."""
        self._stop.set()
        self._thread.join()
        return self.peak


# ---- summaries


def side_floor(rounds, name):
    """Returns the side-by-side floor of stage name over rounds (None when
    no round ran copies side by side): per round, the mean time of the
    copies divided by their count, the time the stage's work takes of the
    whole machine when every core runs it single-threaded at once; the
    median over the rounds."""
    per_round = []
    for r in rounds:
        side = r.get("side_by_side")
        if side:
            times = side["stages"][name]
            per_round.append(statistics.mean(times) / side["copies"])
    return statistics.median(per_round) if per_round else None


def summarize(result):
    """Computes a result's table: per stage the medians of time, their
    ratio, the means of the final val_accuracy and their difference in
    points, the training FLOPs (tfcifar's report), the floor time at the
    measured matmul peak and tfcifar's fraction of that peak, the
    side-by-side floor and its ratio to Keras' time; the peak RSS of each
    program and their ratio; and one (name, measured, limit, met, floor)
    row per target (floor: the side-by-side floor's ratio for a time
    target, else None)."""
    rounds = result["rounds"]
    peak = result["matmul_gflops"] * 1e9
    stages = []
    for name in result["stages"]:
        def col(who, field):
            return [r[who]["stages"][name][field] for r in rounds]
        t_ours, t_keras = statistics.median(col("tfcifar", "time")), statistics.median(col("keras", "time"))
        a_ours = statistics.mean(col("tfcifar", "val_accuracy"))
        a_keras = statistics.mean(col("keras", "val_accuracy"))
        flops = [f for f in col("tfcifar", "flops") if f]
        flops = statistics.median(flops) if flops else None
        floor = flops / peak if flops and peak else None
        side = side_floor(rounds, name)
        stages.append({
            "name": name, "time": t_ours, "keras_time": t_keras, "ratio": t_ours / t_keras,
            "val_accuracy": a_ours, "keras_val_accuracy": a_keras, "points": 100 * (a_ours - a_keras),
            "flops": flops, "floor": floor, "fraction": floor / t_ours if floor else None,
            "side_floor": side, "side_ratio": side / t_keras if side else None,
        })
    rss = result["peak_rss_bytes"]
    rss_ratio = rss["tfcifar"] / rss["keras"]
    targets = []
    for s in stages:
        if s["name"] in TIME_TARGETS:
            limit = TIME_TARGETS[s["name"]]
            targets.append((f"{s['name']} time / Keras", f"{s['ratio']:.2f}", f"<= {limit}", s["ratio"] <= limit,
                            s["side_ratio"]))
    targets.append(("peak RSS / Keras", f"{rss_ratio:.2f}", f"<= {RSS_TARGET}", rss_ratio <= RSS_TARGET, None))
    for s in stages:
        targets.append((f"{s['name']} val_accuracy - Keras (mean)", f"{s['points']:+.2f} points",
                        f"within {ACCURACY_POINTS} points", abs(s["points"]) <= ACCURACY_POINTS, None))
    return {"stages": stages, "rss_ratio": rss_ratio, "targets": targets}


def mib(n):
    """Formats bytes as MiB."""
    return f"{n / 2**20:.0f} MiB"


def render_section(key, cpu, result):
    """Returns the markdown block of one result on one CPU, between the
    bench:begin/end markers that update_doc finds."""
    s = summarize(result)
    sw, th, on = result["software"], result["threads"], cpu.get("onednn") or {}
    n = len(result["rounds"])
    lines = [
        BEGIN.format(key=key),
        f"## {cpu['model']} ({isa_names(cpu['flags'])}): {result['label']}",
        "",
    ]
    if cpu.get("note"):  # a machine recorded by hand
        lines.append(f"Machine: {cpu['note']}")
    else:
        lines += [
            f"Machine: {cpu['logical_cpus']} logical CPUs, {cpu['cores']} cores "
            f"({th.get('usable_cpus', '?')} usable); ISA flags in /proc/cpuinfo: "
            f"{' '.join(cpu['flags']) or 'none of ' + ' '.join(ISA_FLAGS)}.",
            f"oneDNN {on.get('version') or '(version not reported)'} dispatches to: "
            f"{on.get('isa') or '(not reported)'}"
            + (f" (kernels a small convolution ran: {', '.join(on['kernels'])})" if on.get("kernels") else "") + ".",
        ]
    lines += [
        f"TensorFlow {sw.get('tensorflow', '?')} (tfcifar's libtensorflow {sw.get('libtensorflow', '?')}), "
        f"Keras {sw.get('keras', '?')}; threads intra {th['intra']}, inter {th['inter']} "
        f"(0: TensorFlow's default){'; oneDNN uses ' + str(th['onednn']) if th.get('onednn') else ''}.",
        "",
        f"Command: `{result['command']}` ({n} round{'s' if n != 1 else ''}, seed = round, alternating which "
        f"program goes first; {result['epochs']} epoch{'s' if result['epochs'] != 1 else ''} per stage; "
        f"measured {result['date']}).",
        "",
    ]
    if result.get("note"):
        lines += [result["note"], ""]
    copies = [r["side_by_side"]["copies"] for r in result["rounds"] if r.get("side_by_side")]
    lines += [
        "| stage | tfcifar time (median) | Keras time (median) | ratio tfcifar/Keras | tfcifar val_acc (mean) "
        "| Keras val_acc (mean) | difference (points) | training GFLOP | floor at matmul peak "
        "| tfcifar's fraction of peak | side-by-side floor (ratio to Keras) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for st in s["stages"]:
        gflop = f"{st['flops'] / 1e9:.0f}" if st["flops"] else "n/a"
        floor = f"{st['floor']:.1f} s" if st["floor"] else "n/a"
        frac = f"{100 * st['fraction']:.0f} %" if st["fraction"] else "n/a"
        side = f"{st['side_floor']:.1f} s ({st['side_ratio']:.2f})" if st["side_floor"] else "n/a"
        lines.append(f"| {st['name']} | {st['time']:.1f} s | {st['keras_time']:.1f} s | **{st['ratio']:.2f}** "
                     f"| {st['val_accuracy']:.4f} | {st['keras_val_accuracy']:.4f} | {st['points']:+.2f} "
                     f"| {gflop} | {floor} | {frac} | {side} |")
    rss = result["peak_rss_bytes"]
    lines += [
        "",
        f"Peak RSS (the whole process tree, max over rounds): tfcifar {mib(rss['tfcifar'])}, "
        f"Keras {mib(rss['keras'])}, ratio **{s['rss_ratio']:.2f}**.",
        f"Matrix multiply through TensorFlow (2048x2048 float32, same threads): {result['matmul_gflops']:.1f} GFLOP/s; "
        "the floor is a stage's training FLOPs (tfcifar's report) at that rate.",
    ]
    if copies:
        n_copies = max(copies)
        per_cpu = ", one per usable CPU" if n_copies == th.get("usable_cpus") else ""
        lines.append(
            f"Side-by-side floor: each round also ran {n_copies} copies of tfcifar at once with one thread each"
            f"{per_cpu}. The machine did {n_copies} stages' work in the time each copy took, so one stage's "
            f"work needs at least that time / {n_copies} of the whole machine (mean over the copies, median over "
            "the rounds), however a single run splits it between the cores, with TensorFlow's kernels as they run "
            "on one thread.")
    lines += [
        "",
        "| target | measured | limit | met | side-by-side floor |",
        "|---|---|---|---|---|",
    ]
    for name, measured, limit, met, side in s["targets"]:
        floor = ""
        if side is not None:
            below = float(limit.split()[-1]) < side
            floor = f"{side:.2f}" + (": the limit is below it" if below else "")
        lines.append(f"| {name} | {measured} | {limit} | {'yes' if met else '**no**'} | {floor} |")
    if n < MIN_ROUNDS:
        lines += ["", f"Only {n} round{'s' if n != 1 else ''}: the targets are judged on medians of "
                      f"at least {MIN_ROUNDS}."]
    head = "| seed | first | tfcifar | Keras |"
    if copies:
        head += " side by side, one thread each (per copy) |"
    lines += ["", "Per round (time taken and final val_accuracy per stage; peak RSS):", "",
              head, "|---" * head.count(" |") + "|"]
    for r in result["rounds"]:
        def cell(who):
            st = [r[who]["stages"][name] for name in result["stages"]]
            text = " / ".join(f"{x['time']:.1f} s" for x in st) + "; " + \
                " / ".join(f"{x['val_accuracy']:.4f}" for x in st)
            if r[who].get("peak_rss_bytes"):
                text += "; " + mib(r[who]["peak_rss_bytes"])
            return text
        row = f"| {r['seed']} | {r.get('first') or '?'} | {cell('tfcifar')} | {cell('keras')} |"
        if copies:
            side = r.get("side_by_side")
            row += (" " + " / ".join(", ".join(f"{t:.1f} s" for t in side["stages"][name])
                                      for name in result["stages"]) + " |") if side else " - |"
        lines.append(row)
    lines.append(END)
    return "\n".join(lines) + "\n"


def render_terminal(block):
    """Returns a section without its markers, for the terminal."""
    return "\n".join(line for line in block.splitlines() if not line.startswith("<!-- bench:")) + "\n"


# ---- files


def update_doc(text, key, block, chart_link=None):
    """Returns text with the section of key replaced by block (a
    render_section output); a new key goes after the last section of the
    same CPU (so that notes written by hand after a CPU's sections stay
    with them), a new CPU before the first section, or at the end when
    there is none. Everything
    outside that section is kept byte for byte. With chart_link (a
    markdown image line), it is added before the first section when the
    text does not reference the chart yet. Raises ValueError when a
    bench:begin marker has no end."""
    if text.count("<!-- bench:begin ") != len(BLOCK.findall(text)):
        raise ValueError("a <!-- bench:begin KEY --> marker has no <!-- bench:end --> line after it")
    blocks = list(BLOCK.finditer(text))
    same = [m for m in blocks if m.group(1) == key]
    if same:
        m = same[0]
        text = text[:m.start()] + block + text[m.end():]
    else:
        cpu = key.split("/")[0]
        near = [m for m in blocks if m.group(1).split("/")[0] == cpu]
        if near:
            at = near[-1].end()
            text = text[:at] + "\n" + block + text[at:]
        elif blocks:
            at = blocks[0].start()
            text = text[:at] + block + "\n" + text[at:]
        else:
            text = text.rstrip("\n") + "\n\n" + block if text.strip() else block
    if chart_link:
        target = re.search(r"\]\(([^)]+)\)", chart_link).group(1)
        if f"]({target})" not in text:
            first = BLOCK.search(text)
            text = text[:first.start()] + chart_link + "\n\n" + text[first.start():]
    return text


def atomic_write(path, data):
    """Writes data (bytes or str) to path through a temporary file in the
    same directory and a rename: the file is either the old or the new."""
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_results(directory):
    """Returns {cpu key: {"cpu", "results"}} of the stored files in
    directory (none when it does not exist). Raises ValueError naming a
    file that is not such a JSON object."""
    out = {}
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("cpu"), dict) \
                or not isinstance(data.get("results"), dict):
            raise ValueError(f"{path}: want an object with \"cpu\" and \"results\" objects")
        problem = check_cpu(data["cpu"])
        for variant, result in data["results"].items():
            problem = problem or check_result(result, f"results.{variant}")
        if problem:
            raise ValueError(f"{path}: {problem}")
        out[name[:-len(".json")]] = data
    return out


def _check_fields(obj, where, fields):
    """Returns what is wrong with obj (a dict with fields = {name: types}),
    or None."""
    if not isinstance(obj, dict):
        return f"{where}: want an object"
    for name, types in fields.items():
        if not isinstance(obj.get(name), types) or isinstance(obj.get(name), bool):
            return f"{where}.{name}: missing or not {' or '.join(t.__name__ for t in types)}"
    return None


def check_cpu(cpu):
    """Returns what is wrong with a stored CPU, or None."""
    problem = _check_fields(cpu, "cpu", {"model": (str,), "logical_cpus": (int,), "cores": (int,),
                                         "flags": (list,)})
    if not problem and not all(isinstance(f, str) for f in cpu["flags"]):
        problem = "cpu.flags: want a list of strings"
    return problem


def check_result(result, where):
    """Returns what is wrong with a stored result (the fields summarize and
    render_section read), or None."""
    number = (int, float)
    problem = _check_fields(result, where, {
        "label": (str,), "command": (str,), "date": (str,), "epochs": (int,), "matmul_gflops": number,
        "stages": (list,), "rounds": (list,), "peak_rss_bytes": (dict,), "software": (dict,),
        "threads": (dict,)})
    if problem:
        return problem
    if not result["rounds"] or not result["stages"]:
        return f"{where}: no rounds or no stages"
    problem = _check_fields(result["peak_rss_bytes"], f"{where}.peak_rss_bytes",
                            {"tfcifar": number, "keras": number})
    for i, r in enumerate(result["rounds"]):
        w = f"{where}.rounds[{i}]"
        problem = problem or _check_fields(r, w, {"seed": (int,), "tfcifar": (dict,), "keras": (dict,)})
        for who in ("tfcifar", "keras"):
            for name in result["stages"]:
                stage = r.get(who, {}).get("stages", {}).get(name) if not problem else None
                problem = problem or _check_fields(stage, f"{w}.{who}.stages.{name}",
                                                   {"time": number, "val_accuracy": number})
        side = r.get("side_by_side") if not problem else None
        if side is not None:
            problem = _check_fields(side, f"{w}.side_by_side", {"copies": (int,), "stages": (dict,)})
            for name in result["stages"] if not problem else ():
                times = side["stages"].get(name)
                if side["copies"] < 1 or not isinstance(times, list) or len(times) != side["copies"] or \
                        not all(isinstance(t, number) and not isinstance(t, bool) for t in times):
                    problem = problem or f"{w}.side_by_side.stages.{name}: want one time per copy"
    return problem


def record(doc, cpu, variant, result):
    """Records result (variant on cpu): in benchmarks/<cpu key>.json beside
    the markdown file doc (that CPU's other variants stay), in doc's
    section for the CPU and variant (update_doc) and in the chart
    benchmarks/times.png, drawn from all the stored results. Everything is
    computed before the first write, and each file is replaced atomically.
    Returns the paths written."""
    directory = os.path.join(os.path.dirname(os.path.abspath(doc)), RESULTS_DIR)
    stored = load_results(directory)
    key = cpu_key(cpu)
    previous = stored.get(key, {}).get("results", {})
    stored[key] = {"cpu": cpu, "results": {**previous, variant: result}}
    png = chart_png(stored)
    text = ""
    if os.path.exists(doc):
        with open(doc) as f:
            text = f.read()
    section = f"{key}/{variant}"
    text = update_doc(text, section, render_section(section, cpu, result),
                      f"![Time per stage, tfcifar and Keras, per CPU]({RESULTS_DIR}/{CHART})")
    paths = [os.path.join(directory, key + ".json"), os.path.join(directory, CHART), doc]
    atomic_write(paths[0], json.dumps(stored[key], indent=2, sort_keys=True) + "\n")
    atomic_write(paths[1], png)
    atomic_write(paths[2], text)
    return paths


def chart_groups(stored):
    """Returns the chart's groups from load_results' output, in key order:
    (label, {stage: (tfcifar median, Keras median, floor or None,
    side-by-side floor or None)})."""
    groups = []
    for key in sorted(stored):
        cpu = stored[key]["cpu"]
        for variant in sorted(stored[key]["results"]):
            s = summarize(stored[key]["results"][variant])
            label = f"{cpu['model']}\n{isa_names(cpu['flags'])}\n{stored[key]['results'][variant]['label']}"
            groups.append((label, {st["name"]: (st["time"], st["keras_time"], st["floor"], st["side_floor"])
                                  for st in s["stages"]}))
    return groups


def chart_png(stored):
    """Returns a PNG of the time per stage of tfcifar and Keras (one group
    of bars per CPU and configuration, one panel per stage, the floor at
    the matmul peak as a dashed line, the side-by-side floor as a dotted
    one) from load_results' output."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = chart_groups(stored)
    stages = []
    for _, per in groups:
        stages += [s for s in per if s not in stages]
    labels = ["\n".join(textwrap.fill(part, 28) for part in label.splitlines()) for label, _ in groups]
    fig, axes = plt.subplots(1, len(stages), figsize=(2 + 2.6 * len(stages) * max(len(groups), 1), 5.5),
                             squeeze=False)
    width = 0.38
    for ax, stage in zip(axes[0], stages):
        top = 0.0
        for i, (_, per) in enumerate(groups):
            if stage not in per:
                continue
            ours, keras, floor, side = per[stage]
            top = max(top, ours, keras)
            ax.bar(i - width / 2, ours, width, color="tab:blue", label="tfcifar")
            ax.bar(i + width / 2, keras, width, color="tab:orange", label="Keras")
            ax.text(i - width / 2, ours, f"{ours:.1f}", ha="center", va="bottom", fontsize=8)
            ax.text(i + width / 2, keras, f"{keras:.1f}", ha="center", va="bottom", fontsize=8)
            if floor:
                ax.hlines(floor, i - width, i, colors="black", linestyles="dashed",
                          label="floor: training FLOPs at the matmul peak")
            if side:
                ax.hlines(side, i - width, i, colors="tab:red", linestyles="dotted", linewidths=2.5,
                          label="side-by-side floor: single-threaded copies on every core")
        ax.set_ylim(0, 1.12 * top if top else 1)
        ax.set_title(f"{stage} stage")
        ax.set_ylabel("time taken (s, median of the rounds)")
        ax.set_xticks(range(len(groups)), labels, fontsize=7)
    handles, names = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(names, handles))
    fig.legend(unique.values(), unique.keys(), loc="upper center", ncol=len(unique), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
