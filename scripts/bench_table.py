#!/usr/bin/env python3
"""Markdown tables from the `bench` program's JSON output (--benchmark_out=FILE.json or
--benchmark_format=json): for each GEMM shape and kernel variant the GFLOP/s, the fraction of
that ISA's FMA peak (measured in the same run), and the speed relative to OpenBLAS in the same
run, plus the geometric mean of that ratio over the MLP layer shapes.

usage: scripts/bench_table.py RUN.json [RUN.json ...] [-o TABLE.md]

Each file gets its own section (ratios are only taken within one run: the machines are noisy);
with several files a summary of the geometric means follows. Standard library only.
"""
import argparse
import json
import math
import statistics
import sys

REFERENCE = "openblas"


def load(path):
    """The JSON object of one run; exits with a one-line message on unreadable input."""
    try:
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: cannot read benchmark JSON: {e}")
    if not isinstance(run, dict) or "benchmarks" not in run:
        sys.exit(f"{path}: not Google Benchmark JSON (no 'benchmarks' list)")
    return run


class Row:
    """One benchmark: median GFLOP/s and peak fraction over its repetitions, or why it has none."""

    def __init__(self):
        self.flops, self.peak_fraction, self.problem = [], [], None

    def gflops(self):
        return statistics.median(self.flops) * 1e-9 if self.flops else None

    def peak(self):
        return statistics.median(self.peak_fraction) if self.peak_fraction else None


def gemm_rows(run):
    """{(form, shape): {variant: Row}} from names gemm/<variant>/<form>/<shape...>, and the
    variants in a fixed order (scalar, avx2, avx512, neon, any other, OpenBLAS last), whatever
    order the benchmarks ran in (random interleaving shuffles it)."""
    table, variants = {}, []
    for b in run["benchmarks"]:
        parts = b.get("name", "").split("/")
        if (len(parts) < 4 or parts[0] not in ("gemm", "gemm_bf16")
                or b.get("run_type", "iteration") != "iteration"):
            continue
        # BF16 rows (gemm_bf16/<variant>/...) are a column of their own: "<variant> bf16"
        variant = parts[1] + (" bf16" if parts[0] == "gemm_bf16" else "")
        form, shape = parts[2], "/".join(parts[3:])
        row = table.setdefault((form, shape), {}).setdefault(variant, Row())
        if variant not in variants:
            variants.append(variant)
        if b.get("error_occurred"):
            message = b.get("error_message", "error")
            row.problem = "skipped" if message.startswith("skipped") else "FAILED: " + message
        else:
            if "FLOP/s" in b:
                row.flops.append(b["FLOP/s"])
            if "peak_fraction" in b:
                row.peak_fraction.append(b["peak_fraction"])
    known = ["scalar", "avx2", "avx512", "neon"]
    variants.sort(key=lambda v: (v == REFERENCE, known.index(v) if v in known else len(known)))
    return table, variants


def reference_form(form):
    """OpenBLAS has no uint8 path: the float row of the same form is the reference of a _u8 row."""
    return form[: -len("_u8")] if form.endswith("_u8") else form


def ratio_to_reference(table, form, shape, variant):
    mine = table[(form, shape)].get(variant)
    reference = table.get((reference_form(form), shape), {}).get(REFERENCE)
    if mine is None or reference is None or not mine.gflops() or not reference.gflops():
        return None
    return mine.gflops() / reference.gflops()


def is_mlp_float_shape(form, shape):
    """The rows the geometric mean runs over: layer shapes (not squares), float A."""
    return form != "square" and not form.endswith("_u8")


def geometric_mean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def cell_gflops(row):
    if row is None:
        return "-"
    if row.problem:
        return row.problem
    return f"{row.gflops():.1f}" if row.gflops() is not None else "-"


SUSPECT_PEAK = 1.05  # a row this far above the measured FMA peak means a disturbed measurement


def cell_percent(row):
    if row is None or row.peak() is None:
        return "-"
    return f"{100 * row.peak():.0f}%" + (" (!)" if row.peak() > SUSPECT_PEAK else "")


def cell_ratio(ratio):
    return f"{ratio:.2f}" if ratio is not None else "-"


def header(path, run):
    c = run.get("context", {})
    lines = [f"### {path}", ""]
    lines.append(f"- CPU: {c.get('cpu_model', '?')} ({c.get('num_cpus', '?')} cpus), "
                 f"features: {c.get('cpu_features', '?')}")
    lines.append(f"- date: {c.get('date', '?')}; commit: {c.get('git_commit', '?')}; "
                 f"compiler: {c.get('compiler', '?')} ({c.get('build_type', '?')})")
    lines.append(f"- kernel variants: {c.get('kernel_variants', '?')}")
    peaks = [f"{k[len('fma_peak_gflops_'):]} {v}" for k, v in sorted(c.items())
             if k.startswith("fma_peak_gflops_") and not v.startswith("unsupported")]
    lines.append(f"- measured FMA peak, GFLOP/s per core: {', '.join(peaks) or '?'}")
    lines.append(f"- OpenBLAS core: {c.get('openblas_core', '?')} "
                 f"(OPENBLAS_CORETYPE={c.get('OPENBLAS_CORETYPE', '?')}, "
                 f"OPENBLAS_L2_SIZE={c.get('OPENBLAS_L2_SIZE', '?')})")
    return lines


def section(path, run):
    """The markdown for one run and {variant: geometric mean ratio}."""
    table, variants = gemm_rows(run)
    lines = header(path, run) + [""]
    if not table:
        return lines + ["(no gemm/... benchmarks in this file)", ""], {}
    kernels = [v for v in variants if v != REFERENCE]
    columns = ["form", "shape"]
    for v in kernels:
        columns += [f"{v} GFLOP/s", f"{v} % peak"] + ([f"{v} / OpenBLAS"] if REFERENCE in variants else [])
    if REFERENCE in variants:
        columns += ["OpenBLAS GFLOP/s", "OpenBLAS % peak"]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(columns))) + "|")
    ratios = {v: [] for v in kernels}
    for (form, shape), cells in table.items():
        out = [form, shape]
        for v in kernels:
            ratio = ratio_to_reference(table, form, shape, v)
            out += [cell_gflops(cells.get(v)), cell_percent(cells.get(v))]
            if REFERENCE in variants:
                out.append(cell_ratio(ratio))
            if is_mlp_float_shape(form, shape):
                ratios[v].append(ratio)
        if REFERENCE in variants:
            out += [cell_gflops(cells.get(REFERENCE)), cell_percent(cells.get(REFERENCE))]
        lines.append("| " + " | ".join(out) + " |")
    means = {v: geometric_mean(r) for v, r in ratios.items()}
    if any(row.peak() and row.peak() > SUSPECT_PEAK for cells in table.values() for row in cells.values()):
        lines.append("")
        lines.append("(!) above the FMA peak measured at startup: that measurement or the row was "
                     "disturbed by other load; rerun.")
    if REFERENCE in variants:
        lines.append("")
        lines.append("Geometric mean of (variant GFLOP/s / OpenBLAS GFLOP/s) over the MLP layer "
                     "shapes (float forms, squares excluded): "
                     + ", ".join(f"{v} {cell_ratio(m)}" for v, m in means.items()))
    lines.append("")
    return lines, means


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN.json")
    parser.add_argument("-o", "--output", help="write the markdown here instead of stdout")
    args = parser.parse_args()

    lines, summary = [], []
    for path in args.runs:
        run = load(path)
        text, means = section(path, run)
        lines += text
        summary.append((path, run.get("context", {}).get("openblas_core", "?"), means))
    if len(summary) > 1:
        variants = sorted({v for _, _, means in summary for v in means})
        lines.append("### Geometric mean ratio to OpenBLAS, per run")
        lines.append("")
        lines.append("| run | OpenBLAS core | " + " | ".join(variants) + " |")
        lines.append("|---|---|" + "---:|" * len(variants))
        for path, core, means in summary:
            lines.append(f"| {path} | {core} | "
                         + " | ".join(cell_ratio(means.get(v)) for v in variants) + " |")
        lines.append("")
    text = "\n".join(lines)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            sys.exit(f"{args.output}: cannot write: {e}")
    else:
        print(text)


if __name__ == "__main__":
    main()
