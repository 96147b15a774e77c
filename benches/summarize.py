#!/usr/bin/env python3
"""Medians and ratios from the raw results of benches/run.sh, as Markdown tables.

Input: a TSV with the header
  scenario  units  unit_kind  tool  run  exit  wall_s  user_s  sys_s  maxrss_kb
one line per timed run. Ratios are against the scenario's first tool whose name starts with
"linkkeep": `tool / linkkeep` for wall and CPU time, so a ratio above 1 means linkkeep is
faster; the ratio by round pairs each run with linkkeep's run of the same round, to show how
far the machine's noise moves it. Throughput is units per second of wall time (links/s, or
MiB/s for bytes).
"""

import csv
import statistics
import sys
from collections import OrderedDict


def fmt_rate(units, kind, wall):
    if wall <= 0:
        return "-"
    if kind == "bytes":
        return f"{units / wall / 2**20:,.0f} MiB/s"
    return f"{units / wall:,.0f} {kind}/s"


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    scenarios = OrderedDict()
    for r in rows:
        tools = scenarios.setdefault(r["scenario"], OrderedDict())
        tools.setdefault(r["tool"], []).append(r)

    print(
        "| scenario | tool | runs | wall (median) | wall (min–max) | CPU user+sys | peak RSS | throughput "
        "| wall ratio | wall ratio by round (min–max) | CPU ratio |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for scenario, tools in scenarios.items():
        for tool, runs in tools.items():
            wall = statistics.median(float(r["wall_s"]) for r in runs)
            cpu = statistics.median(float(r["user_s"]) + float(r["sys_s"]) for r in runs)
            rss = statistics.median(int(r["maxrss_kb"]) for r in runs)
            failed = sum(1 for r in runs if r["exit"] != "0")
            medians[(scenario, tool)] = (wall, cpu, rss, int(runs[0]["units"]), runs[0]["unit_kind"], failed, len(runs))
        ref = next((t for t in tools if t.startswith("linkkeep")), None)
        if all(t.startswith("linkkeep") for t in tools):
            ref = None  # different linkkeep commands (status, archive): nothing to compare
        for tool, runs in tools.items():
            wall, cpu, rss, units, kind, failed, n = medians[(scenario, tool)]
            walls = [float(r["wall_s"]) for r in runs]
            spread = f"{min(walls):.3f}–{max(walls):.3f} s"
            wall_ratio = cpu_ratio = by_round = "-"
            if ref is not None:
                rwall, rcpu = medians[(scenario, ref)][:2]
                wall_ratio = f"{wall / rwall:.2f}×" if rwall > 0 else "-"
                cpu_ratio = f"{cpu / rcpu:.2f}×" if rcpu > 0 else "-"
                # The tools alternate within a round, so a round's ratio shares that moment's load.
                ref_walls = {r["run"]: float(r["wall_s"]) for r in tools[ref]}
                ratios = [float(r["wall_s"]) / ref_walls[r["run"]] for r in runs if ref_walls.get(r["run"], 0) > 0]
                if ratios:
                    by_round = f"{min(ratios):.2f}–{max(ratios):.2f}×"
            runs_col = f"{n}" if not failed else f"{n} ({failed} failed!)"
            print(
                f"| {scenario} | {tool} | {runs_col} | {wall:.3f} s | {spread} | {cpu:.3f} s | {rss / 1024:,.1f} MiB "
                f"| {fmt_rate(units, kind, wall)} | {wall_ratio} | {by_round} | {cpu_ratio} |"
            )

    # Scaling of check: cost per link at every size measured.
    sizes = [(s, medians) for s in scenarios if s.startswith("check-")]
    if len(sizes) > 1:
        print()
        print("| tool | links | wall | wall per link | CPU per link | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|")
        tools = OrderedDict()
        for scenario in scenarios:
            if scenario.startswith("check-"):
                for tool in scenarios[scenario]:
                    tools.setdefault(tool, []).append(scenario)
        for tool, names in tools.items():
            for scenario in sorted(names, key=lambda s: medians[(s, tool)][3]):
                wall, cpu, rss, units, *_ = medians[(scenario, tool)]
                print(
                    f"| {tool} | {units:,} | {wall:.3f} s | {wall / units * 1e6:.1f} µs "
                    f"| {cpu / units * 1e6:.1f} µs | {rss / 1024:,.1f} MiB |"
                )


if __name__ == "__main__":
    main(sys.argv[1])
