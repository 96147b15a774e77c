#!/usr/bin/env python3
"""Medians and ratios from the raw results of benches/run.sh, as Markdown tables.

Usage: summarize.py RESULTS.tsv [FIGURES.tsv]

RESULTS.tsv has the header
  scenario  units  unit_kind  tool  run  exit  wall_s  user_s  sys_s  maxrss_kb  [written_bytes]
one line per timed run (written_bytes: time's "File system outputs" x 512; older files lack
it). FIGURES.tsv (scenario, tool, run, metric, value) holds sizes and counts: payload_bytes
and links (run "-"), du_bytes after a run, and the warm-ups' status_304, status_200, unchanged and
body_bytes_sent; for the wide scenarios (issue #19) ideal_s, loopback_bytes_per_s and the
server's view of each run (requests, max_in_flight, max_in_flight_host, in_flight_d1..d10).
With it, the summary starts with every target of issues #7, #12, #13, #14 and #19 in one table
(the measured value and whether it is met; a missed target is followed by the profile run.sh
took of that scenario), and adds bytes on disk and the wide runs' schedules. Ratios are against the scenario's first tool whose name starts with
"linkkeep": `tool / linkkeep` for wall and CPU time, so a ratio above 1 means linkkeep is
faster; the ratio by round pairs each run with linkkeep's run of the same round, to show how
far the machine's noise moves it. Throughput is units per second of wall time (links/s, or
MiB/s for bytes).
"""

import csv
import glob
import re
import statistics
import sys
from collections import OrderedDict

MiB = 2**20


def fmt_rate(units, kind, wall):
    if wall <= 0:
        return "-"
    if kind == "bytes":
        return f"{units / wall / 2**20:,.0f} MiB/s"
    return f"{units / wall:,.0f} {kind}/s"


def main(path, figures_path=None):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    scenarios = OrderedDict()
    for r in rows:
        tools = scenarios.setdefault(r["scenario"], OrderedDict())
        tools.setdefault(r["tool"], []).append(r)
    figures = list(csv.DictReader(open(figures_path), delimiter="\t")) if figures_path else []
    if figures_path:
        targets(scenarios, figures, path)
        print()
        print("### Every run")
        print()

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

    if figures_path:
        disk_table(scenarios, figures)
        schedules(scenarios, figures)


def targets(scenarios, figures, results_path):
    """Every target in one table, then the profile of each missed one's scenario."""
    rows = issue7(scenarios) + issue19(scenarios, figures) + issue12(scenarios)
    rows += issue13(scenarios, figures) + issue14(scenarios, figures)
    if not rows:
        return
    print("### Targets")
    print()
    print("Ratios of times are of the medians, with the round-by-round range (the tools alternate")
    print("within a round); sizes are the largest over the timed runs, peak RSS the largest run.")
    print("The issues' sizes are check-10k, the wide web of 5,000 URLs over 500 hosts, archive-2k,")
    print("50 MB or more of HTML, big-4g and manifest-100k (`--quick` runs smaller ones).")
    print()
    print("| target | measured | met? |")
    print("|---|---|---|")
    for target, measured, ok in rows:
        print(f"| {target} | {measured} | {ok} |")
    # A target names its scenario before the colon (and before any " (…)" said of it).
    missed = OrderedDict((target.split(":")[0].split(" (")[0], None) for target, _, ok in rows if ok != "met" and ok != "-")
    stem = results_path[: -len(".tsv")]
    for scenario in missed:
        profiles = sorted(glob.glob(f"{glob.escape(stem)}-profile-{glob.escape(scenario)}-*.txt"))
        print()
        print(f"#### Missed in {scenario}: profile")
        print()
        if not profiles:
            print("No profile was taken (perf missing, or no linkkeep run in this scenario).")
        for profile in profiles:
            print("```")
            print(open(profile).read().rstrip())
            print("```")
        if scenario in scenarios and any(f["scenario"] == scenario and f["metric"] == "in_flight_d1" for f in figures):
            print()
            print("The schedule, from the server's records: see \"Schedules of the wide runs\" below.")


def median_of(runs, key):
    return statistics.median(key(r) for r in runs)


def cpu(r):
    return float(r["user_s"]) + float(r["sys_s"])


def issue7(scenarios):
    """check-10k against lychee (wall and CPU) and curl --parallel."""
    rows = []
    tools = scenarios.get("check-10k", {})
    lk, ly, cu = tools.get("linkkeep", []), tools.get("lychee", []), tools.get("curl --parallel", [])
    if lk and ly:
        m, by_round = speedup(ly, lk)
        rows.append(("check-10k: ≥ 2.5 × faster than lychee",
                     f"{m:.2f} × (lychee {statistics.median(walls(ly).values()):.3f} s, linkkeep "
                     f"{statistics.median(walls(lk).values()):.3f} s; by round {min(by_round):.2f}–{max(by_round):.2f} ×)",
                     verdict(m >= 2.5, failed(lk, ly))))
        c_lk, c_ly = median_of(lk, cpu), median_of(ly, cpu)
        rows.append(("check-10k: less than half lychee's CPU",
                     f"{c_lk / c_ly:.2f} of it ({c_lk:.2f} s against {c_ly:.2f} s, user + sys)",
                     verdict(c_lk < c_ly / 2, failed(lk, ly))))
    if lk and cu:
        m, by_round = speedup(lk, cu)
        rows.append(("check-10k: ≤ 1.5 × the time of curl --parallel",
                     f"{m:.2f} × (curl {statistics.median(walls(cu).values()):.3f} s; by round "
                     f"{min(by_round):.2f}–{max(by_round):.2f} ×)",
                     verdict(m <= 1.5, failed(lk, cu))))
    return rows


def issue12(scenarios):
    """manifest-100k: status and a one-link archive, in absolute time."""
    rows = []
    name = next((s for s in scenarios if s.startswith("manifest-")), None)
    if name:
        for tool, limit, label in (("linkkeep status", 0.35, "`status`"), ("linkkeep archive (1 link)", 0.8, "`archive` of one link")):
            runs = scenarios[name].get(tool, [])
            if runs:
                w = sorted(walls(runs).values())
                rows.append((f"{name}: {label} ≤ {limit} s",
                             f"{statistics.median(w):.3f} s (runs {w[0]:.3f}–{w[-1]:.3f} s)",
                             verdict(statistics.median(w) <= limit, failed(runs))))
    return rows


def fig_float(figures, scenario, metric, tool=None):
    """METRIC for SCENARIO (and TOOL) as {run: float}."""
    return {
        f["run"]: float(f["value"])
        for f in figures
        if f["scenario"] == scenario and f["metric"] == metric and f["value"] != ""
        and (tool is None or f["tool"] == tool)
    }


def issue19(scenarios, figures):
    """The wide web: each tool's wall time as a ratio to the ideal schedule."""
    rows = []
    for name, tool, limit in (("check-wide", "linkkeep", 1.15), ("archive-wide", "linkkeep (cold)", 1.25)):
        tools = scenarios.get(name, {})
        runs = tools.get(tool, [])
        ideal = fig_float(figures, name, "ideal_s").get("-")
        if not runs or not ideal:
            continue
        w = statistics.median(walls(runs).values())
        by_run = sorted(v / ideal for v in walls(runs).values())
        peaks = fig(figures, name, "max_in_flight", tool)
        host_peaks = fig(figures, name, "max_in_flight_host", tool)
        extra = ""
        if name == "archive-wide":
            bw = fig_float(figures, name, "loopback_bytes_per_s").get("-")
            extra = f", transfer at {bw / MiB:,.0f} MiB/s" if bw else ""
        rows.append((f"{name}: {tool} ≤ {limit} × the ideal schedule",
                     f"{w / ideal:.2f} × ({w:.3f} s against {ideal:.3f} s{extra}; runs {by_run[0]:.2f}–{by_run[-1]:.2f} ×; "
                     f"at most {max(peaks.values(), default=0)} in flight, {max(host_peaks.values(), default=0)} per host)",
                     verdict(w / ideal <= limit, failed(runs))))
        lychee = tools.get("lychee", [])
        if lychee:
            m, by_round = speedup(lychee, runs)
            lw = statistics.median(walls(lychee).values())
            rows.append((f"{name}: linkkeep ahead of lychee",
                         f"lychee {lw:.3f} s = {lw / ideal:.2f} × the ideal, {m:.2f} × linkkeep's time (by round "
                         f"{min(by_round):.2f}–{max(by_round):.2f} ×; at most "
                         f"{max(fig(figures, name, 'max_in_flight', 'lychee').values(), default=0)} in flight, "
                         f"{max(fig(figures, name, 'max_in_flight_host', 'lychee').values(), default=0)} per host)",
                         verdict(m > 1, failed(runs, lychee))))
    return rows


def schedules(scenarios, figures):
    """How busy each wide run kept its slots: the mean requests in flight in each tenth of the
    time to the last response (medians over the timed runs), as the server recorded them."""
    lines = []
    for name in ("check-wide", "archive-wide"):
        for tool in scenarios.get(name, {}):
            deciles = []
            for k in range(1, 11):
                values = [v for r, v in fig_float(figures, name, f"in_flight_d{k}", tool).items() if r != "warm-up"]
                deciles.append(statistics.median(values) if values else None)
            last = [v for r, v in fig_float(figures, name, "last_end_s", tool).items() if r != "warm-up"]
            first = [v for r, v in fig_float(figures, name, "first_start_s", tool).items() if r != "warm-up"]
            if None in deciles or not last:
                continue
            lines.append(f"| {name} | {tool} | {statistics.median(first):.3f} s | {statistics.median(last):.3f} s | "
                         + " | ".join(f"{d:.0f}" for d in deciles) + " |")
    if lines:
        print()
        print("### Schedules of the wide runs")
        print()
        print("Requests in flight at the server, on average, in each tenth of the time from just before")
        print("the run started to its last response (medians over the timed runs); a schedule that keeps")
        print("every slot busy shows `--concurrency` in every tenth.")
        print()
        print("| scenario | tool | first request | last response | " + " | ".join(f"{k}/10" for k in range(1, 11)) + " |")
        print("|---|---|---:|---:|" + "---:|" * 10)
        for line in lines:
            print(line)


def fig(figures, scenario, metric, tool=None, run=None):
    """The values of METRIC for SCENARIO (and TOOL, RUN if given), as {run: int}."""
    return {
        f["run"]: int(float(f["value"]))
        for f in figures
        if f["scenario"] == scenario and f["metric"] == metric and f["value"] != ""
        and (tool is None or f["tool"] == tool) and (run is None or f["run"] == run)
    }


def mib(b):
    return f"{b / MiB:,.1f} MiB"


def spread(values, fmt):
    values = list(values)
    if not values:
        return "-"
    lo, mid, hi = fmt(min(values)), fmt(statistics.median(values)), fmt(max(values))
    return mid if lo == hi else f"{mid} ({lo}–{hi})"


def disk_table(scenarios, figures):
    """What each tool wrote to disk (time's File system outputs) and left there (du -sb)."""
    lines = []
    for scenario, tools in scenarios.items():
        payload = fig(figures, scenario, "payload_bytes").get("-")
        for tool, runs in tools.items():
            written = [int(float(r["written_bytes"])) for r in runs if r.get("written_bytes") not in (None, "")]
            du = list(fig(figures, scenario, "du_bytes", tool).values())
            if not du and not (payload and written):
                continue
            ratio = (lambda b: f"{b / payload:.3f}") if payload else (lambda b: "-")
            lines.append(
                f"| {scenario} | {tool} | {mib(payload) if payload else '-'} "
                f"| {spread(written, mib)} | {spread(written, ratio)} "
                f"| {spread(du, mib)} | {spread(du, ratio)} |"
            )
    if lines:
        print()
        print("### Bytes on disk")
        print()
        print("Written: time's \"File system outputs\" × 512 (bytes of page cache the run dirtied, its")
        print("children's included); du: `du -sb` of the archive (linkkeep, after the run named) or of")
        print("wget's WARC file. Medians, with the range over runs when they differ.")
        print()
        print("| scenario | tool | payload | written | written / payload | du -sb | du / payload |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for line in lines:
            print(line)


def walls(runs):
    return {r["run"]: float(r["wall_s"]) for r in runs}


def speedup(slow_runs, fast_runs):
    """median(slow) / median(fast), and the range of the round-by-round ratios."""
    slow, fast = walls(slow_runs), walls(fast_runs)
    median = statistics.median(slow.values()) / statistics.median(fast.values())
    by_round = [slow[r] / fast[r] for r in slow if fast.get(r, 0) > 0]
    return median, by_round


def failed(*run_lists):
    n = sum(1 for runs in run_lists for r in runs if r["exit"] != "0")
    return f" ({n} failed runs!)" if n else ""


def verdict(ok, failures=""):
    if failures:
        return "invalid" + failures
    return "met" if ok else "**missed**"


def issue13(scenarios, figures):
    """Issue #13's targets: each with its measured value and whether it is met. Ratios of
    times are of medians (the round-by-round range beside them); sizes are judged on the worst
    run, peak RSS on the largest of the runs."""
    rows = []
    archive = next((s for s in scenarios if re.fullmatch(r"archive-\d+k?", s)), None)
    if archive:
        tools = scenarios[archive]
        cold, rerun, wget = (tools.get(t, []) for t in ("linkkeep (cold)", "linkkeep (unchanged re-run)", "wget --warc-file"))
        payload = fig(figures, archive, "payload_bytes").get("-")
        du = fig(figures, archive, "du_bytes", "linkkeep (cold)")
        if cold and payload and du:
            ratios = [b / payload for b in du.values()]
            rows.append((f"{archive}: `du -sb archive` after the cold run ≤ 1.03 × payload",
                         f"{max(ratios):.3f} × ({mib(max(du.values()))} for {mib(payload)}"
                         + (f"; runs {min(ratios):.3f}–{max(ratios):.3f}" if f"{min(ratios):.3f}" != f"{max(ratios):.3f}" else "") + ")",
                         verdict(max(ratios) <= 1.03, failed(cold))))
        if cold and wget:
            m, by_round = speedup(wget, cold)
            rows.append((f"{archive}: linkkeep cold ≥ 8 × faster than wget --warc-file",
                         f"{m:.2f} × (wget {statistics.median(walls(wget).values()):.3f} s, linkkeep "
                         f"{statistics.median(walls(cold).values()):.3f} s; by round {min(by_round):.2f}–{max(by_round):.2f} ×)",
                         verdict(m >= 8, failed(cold, wget))))
        if cold and rerun:
            m, by_round = speedup(cold, rerun)
            unchanged = fig(figures, archive, "unchanged", "linkkeep (unchanged re-run)")
            timed = [v for r, v in unchanged.items() if r != "warm-up"]
            n304 = fig(figures, archive, "status_304", run="warm-up").get("warm-up")
            n200 = fig(figures, archive, "status_200", run="warm-up").get("warm-up")
            links = fig(figures, archive, "links").get("-")
            note = []
            if n304 is not None:
                note.append(f"warm-up re-run: {n304} × 304, {n200} × 200 from nginx")
            if timed:
                note.append(f"timed re-runs reported {min(timed)}–{max(timed)} unchanged" if min(timed) != max(timed)
                            else f"timed re-runs reported {timed[0]} unchanged")
            all_unchanged = bool(timed) and links is not None and min(timed) == links
            rows.append((f"{archive}: unchanged re-run ≥ 10 × faster than cold",
                         f"{m:.2f} × (cold {statistics.median(walls(cold).values()):.3f} s, re-run "
                         f"{statistics.median(walls(rerun).values()):.3f} s; by round {min(by_round):.2f}–{max(by_round):.2f} ×)"
                         + (f"; {', '.join(note)}" if note else ""),
                         verdict(m >= 10, failed(cold, rerun))
                         + ("" if all_unchanged else " (not every link came back unchanged: check)")))

    html = "archive-html" if "archive-html" in scenarios else None
    if html:
        tools = scenarios[html]
        cold, wget = tools.get("linkkeep (cold)", []), tools.get("wget --warc-file", [])
        payload = fig(figures, html, "payload_bytes").get("-")
        du = fig(figures, html, "du_bytes", "linkkeep (cold)")
        if cold and payload and du:
            ratios = [b / payload for b in du.values()]
            rows.append((f"{html}: `du -sb archive` ≤ 0.5 × payload ({payload / 1e6:,.1f} MB of HTML, served without gzip)",
                         f"{max(ratios):.3f} × ({mib(max(du.values()))})",
                         verdict(max(ratios) <= 0.5, failed(cold))))
        info = []
        if cold:
            info.append(f"linkkeep cold {statistics.median(walls(cold).values()):.3f} s")
        if cold and wget:
            m, by_round = speedup(wget, cold)
            info.append(f"wget --warc-file {statistics.median(walls(wget).values()):.3f} s ({m:.2f} × linkkeep's time)")
        wdu = fig(figures, html, "du_bytes", "wget --warc-file")
        if wdu and payload:
            info.append(f"wget's WARC {max(wdu.values()) / payload:.3f} × payload")
        if info:
            rows.append((f"{html}: wall time (no target)", "; ".join(info), "-"))
    gz = "archive-html-gzip" if "archive-html-gzip" in scenarios else None
    if gz:
        cold = scenarios[gz].get("linkkeep (cold)", [])
        payload = fig(figures, gz, "payload_bytes").get("-")
        sent = fig(figures, gz, "body_bytes_sent", "linkkeep (cold)").get("warm-up")
        du = fig(figures, gz, "du_bytes", "linkkeep (cold)")
        if cold and payload and du and sent:
            d = max(du.values())
            rows.append((f"{gz}: the same pages served gzip-encoded (no target; SPEC: kept as received)",
                         f"du {mib(d)} = {d / payload:.3f} × payload, {d / sent:.3f} × the {mib(sent)} of "
                         f"gzip bodies nginx sent; linkkeep cold {statistics.median(walls(cold).values()):.3f} s",
                         "-"))

    big = next((s for s in scenarios if s.startswith("big-")), None)
    if big:
        tools = scenarios[big]
        lk, curl = tools.get("linkkeep", []), tools.get("curl -o + sha256sum", [])
        size = int(lk[0]["units"]) if lk else None
        written = [int(float(r["written_bytes"])) for r in lk if r.get("written_bytes") not in (None, "")]
        curl_written = [int(float(r["written_bytes"])) for r in curl if r.get("written_bytes") not in (None, "")]
        if lk and written:
            counter = ""
            if curl_written:
                c = statistics.median(curl_written) / size
                counter = f"; curl + sha256sum wrote {c:.3f} × (the counter's check)"
                if c < 0.9:
                    counter += ": **the counter undercounts here, do not trust this row**"
            rows.append((f"{big}: bytes written ≤ 1.02 × the file",
                         f"{max(written) / size:.3f} × ({mib(max(written))} for {mib(size)}){counter}",
                         verdict(max(written) / size <= 1.02, failed(lk))))
        if lk and curl:
            m, by_round = speedup(curl, lk)
            rows.append((f"{big}: ≥ 1.8 × faster than `curl -o f && sha256sum f`",
                         f"{m:.2f} × (curl + sha256sum {statistics.median(walls(curl).values()):.3f} s, linkkeep "
                         f"{statistics.median(walls(lk).values()):.3f} s; by round {min(by_round):.2f}–{max(by_round):.2f} ×)",
                         verdict(m >= 1.8, failed(lk, curl))))
        if lk:
            rss = [int(r["maxrss_kb"]) / 1024 for r in lk]
            rows.append((f"{big}: peak RSS < 32 MiB",
                         f"{max(rss):.1f} MiB" + (f" (runs {min(rss):.1f}–{max(rss):.1f})" if len(rss) > 1 else ""),
                         verdict(max(rss) < 32, failed(lk))))

    return rows


def issue14(scenarios, figures):
    """Issue #14's targets: the drift corpus classified (noise pairs cosmetic, edit pairs
    changed) and the cost of the text analysis on archive-html-text."""
    rows = []
    drift = {f["metric"]: int(float(f["value"])) for f in figures if f["scenario"] == "drift" and f["value"] != ""}
    if drift.get("noise_pairs") and drift.get("edit_pairs"):
        noise = drift["noise_cosmetic"] / drift["noise_pairs"]
        edit = 1 - drift["edit_cosmetic"] / drift["edit_pairs"]
        rows.append(("drift corpus: ≥ 99 % of noise pairs `cosmetic`",
                     f"{noise:.1%} ({drift['noise_cosmetic']} of {drift['noise_pairs']})", verdict(noise >= 0.99)))
        changed = drift["edit_pairs"] - drift["edit_cosmetic"]
        rows.append(("drift corpus: ≥ 95 % of edit pairs `changed`",
                     f"{edit:.1%} ({changed} of {drift['edit_pairs']})", verdict(edit >= 0.95)))
        if drift.get("extraction_us_per_page"):
            rows.append(("drift corpus: main text per page (no target)", f"{drift['extraction_us_per_page'] / 1000:.2f} ms", "-"))
    tools = scenarios.get("archive-html-text", {})
    on, off = tools.get("linkkeep (text)", []), tools.get("linkkeep --no-text", [])
    if on and off:
        m, by_round = speedup(on, off)
        cpu = statistics.median(float(r["user_s"]) + float(r["sys_s"]) for r in on) / statistics.median(
            float(r["user_s"]) + float(r["sys_s"]) for r in off)
        rows.append((f"archive-html-text ({fig(figures, 'archive-html-text', 'links').get('-', '?')} pages): "
                     "text analysis on ≤ 1.3 × the time without it",
                     f"{m:.2f} × ({statistics.median(walls(on).values()):.3f} s against "
                     f"{statistics.median(walls(off).values()):.3f} s; by round {min(by_round):.2f}–{max(by_round):.2f} ×; "
                     f"CPU {cpu:.2f} ×)",
                     verdict(m <= 1.3, failed(on, off))))
    return rows


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
