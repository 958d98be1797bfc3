#!/usr/bin/env python3
"""Summarises a step timeline (MLP_TIMELINE=FILE trainer ...; src/core/timeline.h).

For each thread: the median duration of every segment of a training step, in order (a timed
phase, a wait at a barrier, the time between them), over the steps that share the most common
sequence of events (the steps followed by an evaluation, a checkpoint or the epoch's end differ
and are left out), after the first --skip fraction of them (warm-up); then per thread the
step's median length and its sums of phases, barrier waits and the rest.

    scripts/step_timeline.py timeline.csv [--skip 0.1] [--phases-only]
"""
import argparse
import collections
import csv
import statistics
import sys


def read_events(path):
    """{thread: [(seconds, event, label)]} in recording order."""
    threads = collections.defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            label = f"L{row['layer']} {row['kernel']}" if row["event"] == "end" else ""
            threads[int(row["thread"])].append((float(row["seconds"]), row["event"], label))
    return threads


def steps_of(events):
    """The events of each step: from one 'step' event up to the next."""
    starts = [i for i, (_, event, _) in enumerate(events) if event == "step"]
    return [events[a:b + 1] for a, b in zip(starts, starts[1:])]


def segment_names(step):
    """What the thread did between each two consecutive events of a step: a timed phase (named
    at its end), a wait at a barrier (also inside a phase: the gather's), or "between"."""
    names, phase_first = [], None
    for position in range(len(step) - 1):
        event, following = step[position][1], step[position + 1][1]
        if event == "start":
            phase_first = position
        if event == "barrier_arrive" and following == "barrier_leave":
            names.append("wait at barrier")
        else:
            names.append("inside" if phase_first is not None else "between")
        if following == "end":
            label = step[position + 1][2]
            names[phase_first:] = [label if name == "inside" else name for name in names[phase_first:]]
            phase_first = None
    return names


def summarise(events, skip):
    steps = steps_of(events)
    steps = steps[int(len(steps) * skip):]
    if not steps:
        return None
    shapes = collections.Counter(tuple(event for _, event, _ in step) for step in steps)
    shape, _ = shapes.most_common(1)[0]
    kept = [step for step in steps if tuple(event for _, event, _ in step) == shape]
    segments = []  # (name, [durations])
    for position, name in enumerate(segment_names(kept[0])):
        durations = [step[position + 1][0] - step[position][0] for step in kept]
        segments.append((name, durations))
    lengths = [step[-1][0] - step[0][0] for step in kept]
    return {"steps": len(kept), "of": len(steps), "segments": segments, "length": lengths}


def microseconds(values):
    return statistics.median(values) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("timeline", help="the CSV file MLP_TIMELINE named")
    parser.add_argument("--skip", type=float, default=0.1, help="fraction of the first steps left out")
    parser.add_argument("--phases-only", action="store_true",
                        help="leave out the segments between events under 0.5 us")
    arguments = parser.parse_args()
    threads = read_events(arguments.timeline)
    if not threads:
        sys.exit(f"step_timeline.py: {arguments.timeline}: no events")
    for thread in sorted(threads):
        summary = summarise(threads[thread], arguments.skip)
        if summary is None:
            print(f"thread {thread}: no complete step")
            continue
        print(f"thread {thread}: step median {microseconds(summary['length']):.1f} us "
              f"({summary['steps']} of {summary['of']} steps alike)")
        totals = collections.Counter()
        for name, durations in summary["segments"]:
            median = microseconds(durations)
            kind = "wait" if name == "wait at barrier" else "other" if name == "between" else "phase"
            totals[kind] += median
            if arguments.phases_only and kind == "other" and median < 0.5:
                continue
            print(f"  {name:34s} {median:9.2f} us")
        print(f"  sums: phases {totals['phase']:.1f} us, barrier waits {totals['wait']:.1f} us, "
              f"between {totals['other']:.1f} us")


if __name__ == "__main__":
    main()
