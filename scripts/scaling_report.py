#!/usr/bin/env python3
"""README tables and a PNG chart from the training-step benchmarks of `bench` (JSON output).

usage: scripts/scaling_report.py RUN.json [RUN.json ...] [-o REPORT.md] [--png CHART.png]
           [--variant avx512] [--all-variants]

Each RUN.json is `bench --benchmark_filter='^(step|step_fork|split)/' --benchmark_out=RUN.json
--benchmark_out_format=json` on one machine; give several (one per CPU) and the report merges
them: a section per machine (its context: CPU, cores, caches, compiler, commit), then one table
across machines. Per machine:
  - samples/s, GFLOP/s and % of the FMA peak (per thread) of every configuration and batch for
    each thread count, with the speedup over 1 thread (the `step/` rows: persistent team);
  - the cost of a parallel region per step (`step_fork/` against `step/` at the most threads);
  - the split ladder (`split/`): a GEMM in 1 part against 2 parts per size (inside a team of
    all cores), and the smallest per-part flop count from which 2 parts win on every larger size
    of both ladders: a lower bound for MLP_PARALLEL_MIN_FLOPS_PER_THREAD.
Repetitions (--benchmark_repetitions) are reduced to their median (--reduce best: the fastest). The chart (--png) has a panel
per batch size: samples/s (log scale) against threads, a line per configuration; with several
runs, CHART.png becomes CHART-1.png, CHART-2.png, ... one per machine. Standard library only
(the PNG is drawn by this script: zlib + a 5x7 pixel font).
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import zlib


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


def collect(run):
    """{(mode, variant, layers, batch, threads): {counter: median}} for step/step_fork rows and
    {(variant, form, shape, threads): {...}} for split rows; errors are kept as 'problem'."""
    samples = {}
    for b in run["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        parts = b.get("name", "").split("/")
        if parts[0] in ("step", "step_fork") and len(parts) >= 5:
            key = (parts[0], parts[1], parts[2], int(parts[3][len("batch"):]),
                   int(parts[4][len("threads"):]))
        elif parts[0] == "split" and len(parts) >= 5 and parts[4].startswith("parts"):
            key = ("split", parts[1], parts[2], parts[3], int(parts[4][len("parts"):]))
        else:
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


def machine_name(run):
    c = run.get("context", {})
    return f"{c.get('cpu_model', 'unknown CPU')}, {c.get('physical_cores', c.get('num_cpus', '?'))} cores"


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
    for key in ("cpu_model", "cpu_features", "physical_cores", "caches", "compiler", "build_type",
                "git_commit", "kernel_variants", "date", "host_name"):
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
    return rows


# ---- the PNG chart ----

FONT = {  # 5x7 glyphs, one string of 7 rows of 5 bits per character
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    "a": "00000 00000 01110 00001 01111 10001 01111", "b": "10000 10000 10110 11001 10001 10001 11110",
    "c": "00000 00000 01110 10000 10000 10001 01110", "d": "00001 00001 01101 10011 10001 10001 01111",
    "e": "00000 00000 01110 10001 11111 10000 01110", "f": "00110 01001 01000 11100 01000 01000 01000",
    "g": "00000 01111 10001 10001 01111 00001 01110", "h": "10000 10000 10110 11001 10001 10001 10001",
    "i": "00100 00000 01100 00100 00100 00100 01110", "j": "00010 00000 00110 00010 00010 10010 01100",
    "k": "10000 10000 10010 10100 11000 10100 10010", "l": "01100 00100 00100 00100 00100 00100 01110",
    "m": "00000 00000 11010 10101 10101 10001 10001", "n": "00000 00000 10110 11001 10001 10001 10001",
    "o": "00000 00000 01110 10001 10001 10001 01110", "p": "00000 00000 11110 10001 11110 10000 10000",
    "q": "00000 00000 01101 10011 01111 00001 00001", "r": "00000 00000 10110 11001 10000 10000 10000",
    "s": "00000 00000 01110 10000 01110 00001 11110", "t": "01000 01000 11100 01000 01000 01001 00110",
    "u": "00000 00000 10001 10001 10001 10011 01101", "v": "00000 00000 10001 10001 10001 01010 00100",
    "w": "00000 00000 10001 10001 10101 10101 01010", "x": "00000 00000 10001 01010 00100 01010 10001",
    "y": "00000 00000 10001 10001 01111 00001 01110", "z": "00000 00000 11111 00010 00100 01000 11111",
    "-": "00000 00000 00000 11111 00000 00000 00000", ".": "00000 00000 00000 00000 00000 01100 01100",
    ",": "00000 00000 00000 00000 01100 00100 01000", "/": "00001 00010 00010 00100 01000 01000 10000",
    "(": "00010 00100 01000 01000 01000 00100 00010", ")": "01000 00100 00010 00010 00010 00100 01000",
    ":": "00000 01100 01100 00000 01100 01100 00000", "%": "11000 11001 00010 00100 01000 10011 00011",
    "@": "01110 10001 10111 10101 10111 10000 01110", " ": "00000 00000 00000 00000 00000 00000 00000",
}
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127)]


class Canvas:
    def __init__(self, width, height):
        self.width, self.height = width, height
        self.pixels = bytearray([255]) * (width * height * 3)

    def dot(self, x, y, colour):
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i:i + 3] = bytes(colour)

    def line(self, x0, y0, x1, y1, colour, thickness=1):
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for s in range(steps + 1):
            x = round(x0 + (x1 - x0) * s / steps)
            y = round(y0 + (y1 - y0) * s / steps)
            for dx in range(thickness):
                for dy in range(thickness):
                    self.dot(x + dx - thickness // 2, y + dy - thickness // 2, colour)

    def box(self, x, y, size, colour):
        for dx in range(-size, size + 1):
            for dy in range(-size, size + 1):
                self.dot(x + dx, y + dy, colour)

    def text(self, x, y, text, colour=(0, 0, 0), scale=1):
        for ch in text.lower():
            rows = FONT.get(ch, FONT[" "]).split()
            for r, bits in enumerate(rows):
                for c, bit in enumerate(bits):
                    if bit == "1":
                        for sx in range(scale):
                            for sy in range(scale):
                                self.dot(x + c * scale + sx, y + r * scale + sy, colour)
            x += 6 * scale

    def save(self, path):
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data +
                    struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def draw_panel(canvas, left, top, width, height, title, series, max_threads):
    """series: [(label, colour, [(threads, samples/s)])] on a log-scale y axis."""
    values = [v for _, _, points in series for _, v in points if v]
    if not values:
        return
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    grey, black = (200, 200, 200), (0, 0, 0)

    def px(threads):
        span = max(max_threads - 1, 1)
        return left + round((threads - 1) / span * width)

    def py(value):
        return top + height - round((math.log10(value) - math.log10(low)) /
                                    (math.log10(high) - math.log10(low)) * height)

    decade = low
    while decade <= high * 1.001:
        for m in (1, 2, 5):
            v = decade * m
            if low <= v <= high:
                canvas.line(left, py(v), left + width, py(v), grey if m > 1 else (160, 160, 160))
                label = f"{v / 1e6:g}m" if v >= 1e6 else (f"{v / 1e3:g}k" if v >= 1e3 else f"{v:g}")
                canvas.text(left - 8 - 6 * len(label), py(v) - 3, label)
        decade *= 10
    for t in range(1, max_threads + 1):
        if max_threads <= 16 or t in (1, max_threads) or t % 4 == 0:
            canvas.line(px(t), top, px(t), top + height, grey)
            canvas.text(px(t) - 3 * len(str(t)), top + height + 8, str(t))
    canvas.line(left, top, left, top + height, black)
    canvas.line(left, top + height, left + width, top + height, black)
    canvas.text(left + width // 2 - 21, top + height + 24, "threads")
    canvas.text(left, top - 22, title, scale=2)
    for label, colour, points in series:
        points = [(t, v) for t, v in points if v]
        for (t0, v0), (t1, v1) in zip(points, points[1:]):
            canvas.line(px(t0), py(v0), px(t1), py(v1), colour, thickness=2)
        for t, v in points:
            canvas.box(px(t), py(v), 3, colour)


def draw_chart(run, variant, path):
    rows = collect(run)
    keys = [k for k in rows if k[0] == "step" and k[1] == variant]
    if not keys:
        print(f"scaling_report: no step/{variant} rows for the chart", file=sys.stderr)
        return
    batches = sorted({k[3] for k in keys})
    configs = sorted({k[2] for k in keys}, key=layer_sort_key)
    max_threads = max(k[4] for k in keys)
    panel_width, panel_height, margin = 420, 330, 90
    canvas = Canvas(margin + len(batches) * (panel_width + margin) + 200, panel_height + 150)
    canvas.text(margin, 12, f"samples/s against threads: {machine_name(run)}, {variant}")
    for i, batch in enumerate(batches):
        series = []
        for j, layers in enumerate(configs):
            points = [(t, rows.get(("step", variant, layers, batch, t), {}).get("samples/s"))
                      for t in range(1, max_threads + 1)]
            series.append((layers, COLOURS[j % len(COLOURS)], points))
        draw_panel(canvas, margin + i * (panel_width + margin), 70, panel_width, panel_height,
                   f"batch {batch}", series, max_threads)
    legend_x = margin + len(batches) * (panel_width + margin) - 40
    for j, layers in enumerate(configs):
        y = 80 + 18 * j
        canvas.line(legend_x, y + 3, legend_x + 20, y + 3, COLOURS[j % len(COLOURS)], thickness=2)
        canvas.text(legend_x + 26, y, layers)
    canvas.text(legend_x, 80 + 18 * len(configs) + 10, "log scale")
    canvas.save(path)
    print(f"wrote {path}", file=sys.stderr)


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
    out.write("# Training-step throughput and thread scaling\n")
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
    if out is not sys.stdout:
        out.close()
    if args.png:
        stem, ext = os.path.splitext(args.png)
        for i, (run, variant) in enumerate(zip(runs, chosen)):
            draw_chart(run, variant, args.png if len(runs) == 1 else f"{stem}-{i + 1}{ext or '.png'}")


if __name__ == "__main__":
    main()
