#!/usr/bin/env python3
"""README tables and PNG charts from `bench` JSON runs (training steps and GEMMs), merged across CPUs.

usage: scripts/scaling_report.py RUN.json [RUN.json ...] [-o REPORT.md] [--png CHART.png]
           [--variant avx512] [--all-variants] [--reduce median|best]

Each RUN.json is `bench --benchmark_out=RUN.json --benchmark_out_format=json` (or
--benchmark_format=json on stdout) on one machine, with any filter: step/, step_fork/, split/ and
gemm/ rows are used, the rest ignored. Give several (one per CPU) and the report merges them: a
section per machine (its context: CPU and its family/model, cores, caches, compiler, commit, FMA
peaks), then tables across machines. Per machine:
  - samples/s, GFLOP/s and % of the FMA peak (per thread) of every configuration and batch for
    each thread count, with the speedup over 1 thread (the `step/` rows: persistent team);
  - the cost of a parallel region per step (`step_fork/` against `step/` at the most threads);
  - the split ladder (`split/`): a GEMM in 1 part against 2 parts per size (inside a team of
    all cores), and the smallest per-part flop count from which 2 parts win on every larger size
    of both ladders: a lower bound for MLP_PARALLEL_MIN_FLOPS_PER_THREAD;
  - one table per configuration x CPU: a network (`step/`: samples/s and % peak of every variant,
    1 thread and all threads, per batch) or a GEMM case (`gemm/<form>/<shape>`: GFLOP/s and % peak
    of every variant and OpenBLAS, per batch).
Across machines: samples/s per step configuration, and GFLOP/s (% peak) per GEMM case.
Repetitions (--benchmark_repetitions) are reduced to their median (--reduce best: the fastest);
a file with only aggregates (--benchmark_report_aggregates_only) gives its _median rows. Charts
(--png CHART.png, drawn with matplotlib: Debian python3-matplotlib): CHART.png has a panel per
batch size, samples/s (log scale) against threads, a line per configuration; CHART-gemm.png the
GEMM cases' GFLOP/s per variant against each ISA's FMA peak. With several runs: CHART-1.png,
CHART-1-gemm.png, CHART-2.png, ... one per machine. Two runs of the same machine are compared
by Google Benchmark's own compare.py: scripts/compare_bench.sh A.json B.json.
"""
import argparse
import json
import math
import os
import statistics
import sys


# ---- reading the runs ----

def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: cannot read benchmark JSON: {e}")
    if not isinstance(run, dict) or "benchmarks" not in run:
        sys.exit(f"{path}: not Google Benchmark JSON (no 'benchmarks' list)")
    return run


REDUCE = "median"  # or "best": the fastest repetition (the least disturbed, on a shared machine)


def reduce_values(name, values):
    if not values:
        return None
    if REDUCE == "median":
        return statistics.median(values)
    return min(values) if name in ("real_time", "cpu_time") else max(values)


def parse_name(name):
    """The row key of a benchmark name, or None: (mode, variant, layers, batch, threads) for
    step/step_fork, ("split", variant, form, shape, parts), ("gemm", variant, form, shape, batch)
    (batch 0 for gemm/<variant>/square/<n>)."""
    parts = name.split("/")
    try:
        if parts[0] in ("step", "step_fork") and len(parts) >= 5:
            return (parts[0], parts[1], parts[2], int(parts[3][len("batch"):]),
                    int(parts[4][len("threads"):]))
        if parts[0] == "split" and len(parts) >= 5 and parts[4].startswith("parts"):
            return ("split", parts[1], parts[2], parts[3], int(parts[4][len("parts"):]))
        if parts[0] == "gemm" and len(parts) >= 4:
            batch = int(parts[4][len("batch"):]) if len(parts) >= 5 and parts[4].startswith("batch") else 0
            return ("gemm", parts[1], parts[2], parts[3], batch)
    except ValueError:
        return None
    return None


def collect(run):
    """{key: {counter: reduced value}} for the rows parse_name knows; errors are kept as
    'problem'. Iteration rows are reduced by REDUCE; a benchmark present only as aggregates
    contributes its median aggregate."""
    benchmarks = run["benchmarks"]
    with_iterations = {b.get("run_name", b.get("name")) for b in benchmarks
                       if b.get("run_type", "iteration") == "iteration"}
    samples = {}
    for b in benchmarks:
        run_type = b.get("run_type", "iteration")
        if run_type == "aggregate":
            if b.get("aggregate_name") != "median" or b.get("run_name") in with_iterations:
                continue
            name = b.get("run_name", "")
        elif run_type == "iteration":
            name = b.get("run_name", b.get("name", ""))
        else:
            continue
        key = parse_name(name)
        if key is None:
            continue
        entry = samples.setdefault(key, {"samples/s": [], "FLOP/s": [], "peak_fraction": [],
                                         "real_time": [], "cpu_time": [], "problem": None})
        if b.get("error_occurred"):
            entry["problem"] = b.get("error_message", "error")
            continue
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
        entry["real_time"].append(b["real_time"] * scale)
        entry["cpu_time"].append(b["cpu_time"] * scale)
        for counter in ("samples/s", "FLOP/s", "peak_fraction"):
            if counter in b:
                entry[counter].append(b[counter])
    rows = {}
    for key, entry in samples.items():
        rows[key] = {name: reduce_values(name, values)
                     for name, values in entry.items() if name != "problem"}
        rows[key]["problem"] = entry["problem"]
    return rows


def fma_peaks(run):
    """{isa: GFLOP/s per core} from the context's measured FMA peaks."""
    peaks = {}
    for k, v in run.get("context", {}).items():
        if k.startswith("fma_peak_gflops_"):
            try:
                peaks[k[len("fma_peak_gflops_"):]] = float(v)
            except (TypeError, ValueError):
                pass
    return peaks


def cpu_label(run):
    """Short: the CPU model and its CPUID family/model when recorded."""
    c = run.get("context", {})
    label = " ".join(str(c.get("cpu_model", "unknown CPU")).split())
    if "cpu_family" in c and "cpu_model_number" in c:
        label += f" (family {c['cpu_family']} model {c['cpu_model_number']})"
    return label


def gemm_case_key(case):
    shape, batch = case
    return ([int(x) for x in shape.split("x")], batch)


def gemm_case_label(shape, batch):
    return f"{shape}\nbatch {batch}" if batch else shape


def machine_name(run):
    c = run.get("context", {})
    return f"{cpu_label(run)}, {c.get('physical_cores', c.get('num_cpus', '?'))} cores"


def layer_sort_key(layers):
    return [int(x) for x in layers.split("-")]


# ---- tables ----

def fmt_rate(value):
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.1f}k"


def shown_threads(all_threads):
    """1, 2, 4, 8, ... and the largest: readable tables on many-core machines."""
    top = max(all_threads)
    return [t for t in all_threads if t == top or (t & (t - 1)) == 0]


def step_table(rows, variant, out):
    keys = [k for k in rows if k[0] == "step" and k[1] == variant]
    if not keys:
        return
    threads = shown_threads(sorted({k[4] for k in keys}))
    configs = sorted({(k[2], k[3]) for k in keys}, key=lambda c: (layer_sort_key(c[0]), c[1]))
    header = "| layers | batch | 1 thread samples/s | GFLOP/s | % peak | 1 thread, CPU time |"
    rule = "|---|---:|---:|---:|---:|---:|"
    for t in threads[1:]:
        header += f" {t} threads samples/s | speedup | % peak |"
        rule += "---:|---:|---:|"
    out.write(f"\n`step/{variant}` (persistent team; % peak = FLOP/s / (threads × per-core FMA"
              " peak); \"CPU time\": the 1-thread rate and % peak from the thread's CPU time,"
              " robust to other processes on a shared machine):\n\n" + header + "\n" + rule + "\n")
    for layers, batch in configs:
        one = rows.get(("step", variant, layers, batch, 1), {})
        line = f"| {layers.replace('-', ',')} | {batch} | {fmt_rate(one.get('samples/s'))} |"
        line += f" {one['FLOP/s'] * 1e-9:.1f} |" if one.get("FLOP/s") else " - |"
        line += f" {one['peak_fraction'] * 100:.0f}% |" if one.get("peak_fraction") else " - |"
        if one.get("cpu_time") and one.get("real_time") and one.get("samples/s"):
            # The master thread's CPU time: with one thread, the step's own time, whatever else
            # runs on the machine (the real-time rate times real / CPU time).
            cpu_rate = one["samples/s"] * one["real_time"] / one["cpu_time"]
            line += f" {fmt_rate(cpu_rate)} ({one['peak_fraction'] * one['real_time'] / one['cpu_time'] * 100:.0f}%) |"
        else:
            line += " - |"
        for t in threads[1:]:
            r = rows.get(("step", variant, layers, batch, t), {})
            rate, base = r.get("samples/s"), one.get("samples/s")
            line += f" {fmt_rate(rate)} |"
            line += f" {rate / base:.2f}x |" if rate and base else " - |"
            line += f" {r['peak_fraction'] * 100:.0f}% |" if r.get("peak_fraction") else " - |"
        out.write(line + "\n")


def fork_table(rows, variant, out):
    keys = [k for k in rows if k[0] == "step_fork" and k[1] == variant]
    if not keys:
        return
    top = max(k[4] for k in keys)
    configs = sorted({(k[2], k[3]) for k in keys}, key=lambda c: (layer_sort_key(c[0]), c[1]))
    out.write(f"\nA parallel region per step (`step_fork/{variant}`, network_train_step) against"
              f" one team for all steps (`step/`), {top} threads:\n\n"
              "| layers | batch | step samples/s | step_fork samples/s | step_fork / step |\n"
              "|---|---:|---:|---:|---:|\n")
    for layers, batch in configs:
        persistent = rows.get(("step", variant, layers, batch, top), {}).get("samples/s")
        forked = rows.get(("step_fork", variant, layers, batch, top), {}).get("samples/s")
        ratio = f"{forked / persistent:.2f}" if persistent and forked else "-"
        out.write(f"| {layers.replace('-', ',')} | {batch} | {fmt_rate(persistent)} |"
                  f" {fmt_rate(forked)} | {ratio} |\n")


def split_flops(shape):
    m, n, k = (int(x) for x in shape.split("x"))
    return 2.0 * m * n * k


def split_table(rows, variant, out):
    """The split ladder and the threshold it implies; returns the threshold (flops per thread)."""
    keys = [k for k in rows if k[0] == "split" and k[1] == variant and k[4] in (1, 2)]
    if not keys:
        return None
    shapes = sorted({(k[2], k[3]) for k in keys}, key=lambda s: (s[0], split_flops(s[1])))
    out.write(f"\nGEMM split ladder (`split/{variant}`: one GEMM in 1 or 2 parts as the network cuts"
              " it, then a barrier, by a team of all cores):\n\n| form | m×n×k |"
              " flops per part (2 parts) | 1 part µs | 2 parts µs | speedup |\n"
              "|---|---|---:|---:|---:|---:|\n")
    wins = {}
    for form, shape in shapes:
        one = rows.get(("split", variant, form, shape, 1), {}).get("real_time")
        two = rows.get(("split", variant, form, shape, 2), {}).get("real_time")
        per_thread = split_flops(shape) / 2
        speedup = one / two if one and two else None
        wins.setdefault(form, []).append((per_thread, speedup))
        cells = [form, shape, f"{per_thread / 1e3:.0f}k", f"{one * 1e6:.1f}" if one else "-",
                 f"{two * 1e6:.1f}" if two else "-", f"{speedup:.2f}x" if speedup else "-"]
        out.write("| " + " | ".join(cells) + " |\n")
    # Per form: the smallest size from which 2 threads win (speedup > 1) on every larger size.
    threshold = 0.0
    for form, ladder in wins.items():
        ladder.sort()
        first_win = None
        for per_thread, speedup in ladder:
            if speedup is not None and speedup > 1.0:
                if first_win is None:
                    first_win = per_thread
            else:
                first_win = None
        if first_win is None:
            first_win = ladder[-1][0] * 2  # never wins in the measured range
        threshold = max(threshold, first_win)
    out.write(f"\nA lone GEMM in 2 parts wins on every size from {threshold / 1e3:.0f}k flops per part"
              f" up (both ladders; 2^{math.log2(threshold):.1f}). That is a lower bound for"
              " MLP_PARALLEL_MIN_FLOPS_PER_THREAD: in a training step a split layer's weights and"
              " gradients also move between the cores every step, so check whole steps of the small"
              " configurations (docs/threads.md).\n")
    return threshold


def merged_table(runs, variants, out):
    """One row per configuration and batch, per machine: 1 thread and all-cores samples/s."""
    names = [machine_name(r) for r in runs]
    all_rows = [collect(r) for r in runs]
    configs = set()
    for rows in all_rows:
        configs |= {(k[2], k[3]) for k in rows if k[0] == "step"}
    if not configs:
        return
    header, rule = "| layers | batch |", "|---|---:|"
    for name, variant in zip(names, variants):
        header += f" {name} ({variant}) 1 thread | all cores | speedup |"
        rule += "---:|---:|---:|"
    out.write("\n## All machines (samples/s, `step/`)\n\n" + header + "\n" + rule + "\n")
    for layers, batch in sorted(configs, key=lambda c: (layer_sort_key(c[0]), c[1])):
        line = f"| {layers.replace('-', ',')} | {batch} |"
        for rows, variant in zip(all_rows, variants):
            threads = sorted(k[4] for k in rows if k[:4] == ("step", variant, layers, batch))
            one = rows.get(("step", variant, layers, batch, 1), {}).get("samples/s")
            top = rows.get(("step", variant, layers, batch, threads[-1]), {}).get("samples/s") if threads else None
            line += f" {fmt_rate(one)} | {fmt_rate(top)} (x{threads[-1] if threads else '?'}) |"
            line += f" {top / one:.2f}x |" if one and top else " - |"
        out.write(line + "\n")


def fmt_peak(fraction):
    return f" ({fraction * 100:.0f}%)" if fraction else ""


def config_tables(run, rows, out):
    """One table per configuration on this CPU: every variant side by side."""
    name = cpu_label(run)
    step_keys = [k for k in rows if k[0] == "step"]
    for layers in sorted({k[2] for k in step_keys}, key=layer_sort_key):
        keys = [k for k in step_keys if k[2] == layers]
        variants = sorted({k[1] for k in keys})
        top = max(k[4] for k in keys)
        header, rule = "| batch |", "|---:|"
        for v in variants:
            header += f" {v} 1 thread | {v} {top} threads |"
            rule += "---:|---:|"
        out.write(f"\n### step {layers.replace('-', ',')} on {name}\n\nsamples/s (% of the"
                  " FMA peak of the threads used):\n\n" + header + "\n" + rule + "\n")
        for batch in sorted({k[3] for k in keys}):
            line = f"| {batch} |"
            for v in variants:
                for t in (1, top):
                    r = rows.get(("step", v, layers, batch, t), {})
                    cell = fmt_rate(r.get("samples/s")) + fmt_peak(r.get("peak_fraction"))
                    line += f" {cell if r.get('samples/s') else (r.get('problem') or '-')} |"
            out.write(line + "\n")
    gemm_keys = [k for k in rows if k[0] == "gemm"]
    peaks = fma_peaks(run)
    for form, shape in sorted({(k[2], k[3]) for k in gemm_keys},
                              key=lambda c: (c[0], [int(x) for x in c[1].split("x")])):
        keys = [k for k in gemm_keys if k[2] == form and k[3] == shape]
        variants = sorted({k[1] for k in keys})
        out.write(f"\n### gemm {form} {shape} on {name}\n\nGFLOP/s (% of that ISA's FMA peak per"
                  " core; OpenBLAS: of the widest measured peak):\n\n| batch | "
                  + " | ".join(variants) + " |\n|---:|" + "---:|" * len(variants) + "\n")
        for batch in sorted({k[4] for k in keys}):
            line = f"| {batch or '-'} |"
            for v in variants:
                r = rows.get(("gemm", v, form, shape, batch), {})
                flops = r.get("FLOP/s")
                fraction = r.get("peak_fraction")
                if flops and not fraction and peaks:
                    fraction = flops * 1e-9 / max(peaks.values())
                line += f" {flops * 1e-9:.1f}{fmt_peak(fraction)} |" if flops else f" {r.get('problem') or '-'} |"
            out.write(line + "\n")


def merged_gemm_table(runs, out):
    """One row per GEMM case and batch; per machine, every variant's GFLOP/s (% peak)."""
    all_rows = [collect(r) for r in runs]
    columns = []
    for i, rows in enumerate(all_rows):
        for v in sorted({k[1] for k in rows if k[0] == "gemm"}):
            columns.append((i, v))
    if not columns:
        return
    cases = set()
    for rows in all_rows:
        cases |= {(k[2], k[3], k[4]) for k in rows if k[0] == "gemm"}
    labels = [f"{cpu_label(runs[i])} {v}" for i, v in columns]
    out.write("\n## All machines (GFLOP/s and % of the FMA peak, `gemm/`)\n\n| form | shape | batch | "
              + " | ".join(labels) + " |\n|---|---|---:|" + "---:|" * len(columns) + "\n")
    for form, shape, batch in sorted(cases, key=lambda c: (c[0], [int(x) for x in c[1].split("x")], c[2])):
        line = f"| {form} | {shape} | {batch or '-'} |"
        for i, v in columns:
            r = all_rows[i].get(("gemm", v, form, shape, batch), {})
            line += f" {r['FLOP/s'] * 1e-9:.1f}{fmt_peak(r.get('peak_fraction'))} |" if r.get("FLOP/s") else " - |"
        out.write(line + "\n")


def best_variant(rows):
    """The variant with the highest 1-thread samples/s summed over the step rows."""
    totals = {}
    for k, r in rows.items():
        if k[0] == "step" and k[4] == 1 and r.get("samples/s"):
            totals[k[1]] = totals.get(k[1], 0.0) + r["samples/s"]
    return max(totals, key=totals.get) if totals else None


def machine_section(run, path, variants, out):
    c = run.get("context", {})
    rows = collect(run)
    out.write(f"\n## {machine_name(run)} ({os.path.basename(path)})\n\n")
    for key in ("cpu_model", "cpu_vendor", "cpu_signature", "cpu_features", "cpu_isa_extra",
                "physical_cores", "available_cores", "caches", "cache_l3_note", "compiler",
                "build_type", "git_commit", "kernel_variants", "kernel_default", "plan",
                "openblas_core", "date", "host_name"):
        if key in c:
            out.write(f"- {key}: {c[key]}\n")
    peaks = [f"{k[len('fma_peak_gflops_'):]} {v}" for k, v in sorted(c.items())
             if k.startswith("fma_peak_gflops_") and not str(v).startswith("unsupported")]
    if peaks:
        out.write(f"- FMA peak per core, GFLOP/s: {', '.join(peaks)}\n")
    for variant in variants:
        step_table(rows, variant, out)
        fork_table(rows, variant, out)
        split_table(rows, variant, out)
    config_tables(run, rows, out)
    return rows


# ---- the PNG charts (matplotlib: Debian python3-matplotlib) ----

def pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("scaling_report: --png needs matplotlib (Debian python3-matplotlib; "
                 "scripts/install_deps.sh test installs it)")
    return plt


def draw_chart(run, variant, path):
    """samples/s against threads, a panel per batch size, a line per configuration (log y)."""
    rows = collect(run)
    keys = [k for k in rows if k[0] == "step" and k[1] == variant]
    if not keys:
        print(f"scaling_report: no step/{variant} rows for the chart", file=sys.stderr)
        return False
    plt = pyplot()
    batches = sorted({k[3] for k in keys})
    configs = sorted({k[2] for k in keys}, key=layer_sort_key)
    threads = sorted({k[4] for k in keys})
    fig, axes = plt.subplots(1, len(batches), figsize=(5 * len(batches) + 1.5, 4.5), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        for layers in configs:
            points = [(t, rows.get(("step", variant, layers, batch, t), {}).get("samples/s"))
                      for t in threads]
            points = [(t, v) for t, v in points if v]
            if points:
                ax.plot([t for t, _ in points], [v for _, v in points], marker="o",
                        label=layers.replace("-", ","))
        ax.set_yscale("log")
        ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.set_ylabel("samples/s")
        ax.set_title(f"batch {batch}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(f"step/{variant}: {machine_name(run)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)
    return True


def draw_gemm_chart(run, path):
    """% of the FMA peak of every GEMM case, a panel per form, a bar per variant (OpenBLAS: its
    GFLOP/s over the peak of the widest ISA, when the row has no peak_fraction)."""
    rows = collect(run)
    keys = [k for k in rows if k[0] == "gemm"]
    if not keys:
        print("scaling_report: no gemm/ rows for the chart", file=sys.stderr)
        return False
    plt = pyplot()
    forms = sorted({k[2] for k in keys})
    variants = sorted({k[1] for k in keys})
    fig, axes = plt.subplots(len(forms), 1, figsize=(11, 2.8 * len(forms) + 0.8), squeeze=False)
    width = 0.8 / max(len(variants), 1)
    for ax, form in zip(axes[:, 0], forms):
        cases = sorted({(k[3], k[4]) for k in keys if k[2] == form}, key=gemm_case_key)
        for i, variant in enumerate(variants):
            heights = [rows.get(("gemm", variant, form, shape, batch), {}).get("FLOP/s") or 0
                       for shape, batch in cases]
            ax.bar([c + (i - (len(variants) - 1) / 2) * width for c in range(len(cases))],
                   [h * 1e-9 for h in heights], width, label=variant)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([gemm_case_label(shape, batch) for shape, batch in cases], fontsize="small")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"gemm {form}", fontsize="medium")
        ax.grid(True, axis="y", alpha=0.3)
        for isa, peak in fma_peaks(run).items():
            if isa in variants:
                ax.axhline(peak, linestyle="--", linewidth=0.8,
                           color=f"C{variants.index(isa)}")
    axes[0][0].legend(fontsize="small", ncol=len(variants))
    fig.suptitle(f"GEMM GFLOP/s (dashed: that ISA's FMA peak per core): {machine_name(run)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="bench JSON files, one per machine")
    parser.add_argument("-o", "--output", help="write the markdown here (default: stdout)")
    parser.add_argument("--png", help="draw the chart here")
    parser.add_argument("--variant", help="kernel variant for the tables and chart (default: the"
                        " fastest at 1 thread on each machine)")
    parser.add_argument("--all-variants", action="store_true", help="a table per variant")
    parser.add_argument("--reduce", choices=["median", "best"], default="median",
                        help="how repetitions are reduced: median (default), or best (the fastest"
                        " repetition: the least disturbed on a shared machine; say so)")
    args = parser.parse_args()
    global REDUCE
    REDUCE = args.reduce
    runs = [load(p) for p in args.runs]
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    out.write("# Training-step and GEMM throughput, thread scaling, across CPUs\n")
    out.write(f"\nRepetitions reduced to their {'median' if REDUCE == 'median' else 'best (fastest) run'}.\n")
    chosen = []
    for path, run in zip(args.runs, runs):
        rows = collect(run)
        if args.all_variants:
            variants = sorted({k[1] for k in rows if k[0] == "step"})
        else:
            variants = [args.variant or best_variant(rows) or "avx512"]
        chosen.append(variants[-1] if args.all_variants else variants[0])
        machine_section(run, path, variants, out)
    if len(runs) > 1:
        merged_table(runs, chosen, out)
        merged_gemm_table(runs, out)
    if out is not sys.stdout:
        out.close()
    if args.png:
        stem, ext = os.path.splitext(args.png)
        ext = ext or ".png"
        drawn = 0
        for i, (run, variant) in enumerate(zip(runs, chosen)):
            base = stem if len(runs) == 1 else f"{stem}-{i + 1}"
            drawn += draw_chart(run, variant, base + ext)
            drawn += draw_gemm_chart(run, base + "-gemm" + ext)
        if not drawn:
            sys.exit("scaling_report: nothing to chart (no step/ or gemm/ rows)")


if __name__ == "__main__":
    main()
