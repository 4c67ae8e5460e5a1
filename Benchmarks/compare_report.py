#!/usr/bin/env python3
"""Summarises compare.sh's raw measurements: prints a Markdown table of medians
with ratios to the Python peer, and plots wall time and peak RSS against entries.

    python3 Benchmarks/compare_report.py MEASUREMENTS.csv PLOT.png [TITLE NOTE]

The ratio columns are Python's median divided by atrest's: "12×" means atrest
took a twelfth of the peer's wall time (or memory). CPU is user plus system time,
less disturbed than wall time when the machine is busy. "index + audit --index" is the
sum of the two medians: what reading a large export once and auditing it costs."""
import collections
import csv
import statistics
import sys
import time

PEER = "python peer_audit.py export.json"
ORDER = [PEER, "atrest audit export.json", "atrest audit snapshot.db", "atrest index export.json",
         "atrest audit --index", "index + audit --index"]


def load(path):
    runs = collections.defaultdict(list)
    size = {}
    for row in csv.DictReader(open(path)):
        key = (int(row["entries"]), row["command"])
        cpu = float(row["user_seconds"]) + float(row["system_seconds"])
        runs[key].append((float(row["seconds"]), int(row["max_rss_kib"]) / 1024, cpu))
        size[key] = int(row["input_bytes"])
    medians = {}
    for key, values in runs.items():
        medians[key] = (statistics.median(s for s, _, _ in values), statistics.median(r for _, r, _ in values),
                        len(values), statistics.median(c for _, _, c in values))
    for n in {n for n, _ in runs}:
        index, audit = medians.get((n, "atrest index export.json")), medians.get((n, "atrest audit --index"))
        if index and audit:
            medians[(n, "index + audit --index")] = (index[0] + audit[0], max(index[1], audit[1]),
                                                     min(index[2], audit[2]), index[3] + audit[3])
            size[(n, "index + audit --index")] = size[(n, "atrest index export.json")]
    return medians, size


def table(medians, size):
    lines = ["| entries | command | input | runs | median wall | throughput | median CPU | peak RSS | wall vs Python | CPU vs Python | RSS vs Python |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sorted({n for n, _ in medians}):
        peer = medians.get((n, PEER))
        for command in ORDER:
            if (n, command) not in medians:
                continue
            seconds, rss, count, cpu = medians[(n, command)]
            mb = size[(n, command)] / 1e6
            speed = f"{peer[0] / seconds:,.1f}×" if peer else "–"
            memory = f"{peer[1] / rss:,.1f}×" if peer else "–"
            work = f"{peer[3] / max(cpu, 0.01):,.1f}×" if peer else "–"
            lines.append(f"| {n:,} | `{command}` | {mb:,.0f} MB | {count} | {seconds:,.2f} s | "
                         f"{mb / max(seconds, 0.01):,.0f} MB/s | {cpu:,.2f} s | {rss:,.0f} MiB | {speed} | {work} | {memory} |")
    return "\n".join(lines)


def plot(medians, path, note):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter
    except ImportError:
        print(f"(matplotlib is not installed: no plot written to {path})", file=sys.stderr)
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    styles = {PEER: ("tab:red", "o"), "atrest audit export.json": ("tab:blue", "s"),
              "atrest audit snapshot.db": ("tab:green", "^"), "atrest index export.json": ("tab:gray", "v"),
              "atrest audit --index": ("tab:purple", "D")}
    for command, (colour, marker) in styles.items():
        points = sorted((n, m) for (n, c), m in medians.items() if c == command)
        if not points:
            continue
        xs = [n for n, _ in points]
        label = command.replace("python ", "Python ")
        left.plot(xs, [m[0] for _, m in points], marker=marker, color=colour, label=label)
        right.plot(xs, [m[1] for _, m in points], marker=marker, color=colour, label=label)
    sizes = sorted({n for n, _ in medians})
    entries = FuncFormatter(lambda v, _: f"{v / 1e6:g}M" if v >= 1e6 else f"{v / 1e3:g}k")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    # Label the 2 and 5 between powers of ten too, in plain numbers, not 10^x.
    two_five = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else "")
    for axes, title, unit in ((left, "Median wall time", "seconds"), (right, "Median peak RSS", "MiB")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.xaxis.set_major_locator(FixedLocator(sizes))
        axes.xaxis.set_major_formatter(entries)
        axes.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        axes.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
        axes.yaxis.set_major_formatter(plain)
        low, high = axes.get_ylim()
        axes.yaxis.set_minor_formatter(plain if high / low < 10 else two_five)
        axes.set_title(title)
        axes.set_xlabel("entries (~1 KiB secrets; 60 % aesgcm, 20 % secretbox, 10 % aescbc, 10 % plaintext)", fontsize=8)
        axes.set_ylabel(unit)
        axes.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    heading = f"atrest audit against a Python peer, {time.strftime('%Y-%m-%d', time.gmtime())}"
    figure.suptitle(heading + (f"\n{note}" if note else ""))
    figure.tight_layout()
    figure.savefig(path)


def main():
    medians, size = load(sys.argv[1])
    print(table(medians, size))
    plot(medians, sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")


if __name__ == "__main__":
    main()
