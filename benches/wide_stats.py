#!/usr/bin/env python3
"""What benches/wide_server.rs saw during one timed run (issue #19), as figures for run.sh.

Usage: wide_stats.py STATS.json   (the server's /__stats: {"requests": [[host, start_us,
end_us, bytes], ...]}, times since the reset made just before the run started)

Prints one `metric<TAB>value` line each: requests; max_in_flight and max_in_flight_host (the
most requests in flight at once overall and to one host, which show that a tool kept to its
--concurrency and --per-host); first_start_s and last_end_s; and the schedule's profile:
in_flight_d1 … in_flight_d10, the mean number of requests in flight in each tenth of the time
from the reset to the last response. A schedule that keeps every slot busy shows c in every
tenth; one that leaves a tail shows the last tenths falling off.
"""

import json
import sys
from collections import defaultdict


def in_flight_peak(intervals):
    """The most intervals open at once; an interval ending when another starts does not overlap it."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def main(path):
    requests = json.load(open(path))["requests"]
    print(f"requests\t{len(requests)}")
    if not requests:
        return
    spans = [(start, end) for _, start, end, _ in requests]
    by_host = defaultdict(list)
    for host, start, end, _ in requests:
        by_host[host].append((start, end))
    print(f"max_in_flight\t{in_flight_peak(spans)}")
    print(f"max_in_flight_host\t{max(in_flight_peak(v) for v in by_host.values())}")
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    print(f"first_start_s\t{first / 1e6:.4f}")
    print(f"last_end_s\t{last / 1e6:.4f}")
    tenth = last / 10
    for k in range(10):
        lo, hi = k * tenth, (k + 1) * tenth
        busy = sum(max(0, min(e, hi) - max(s, lo)) for s, e in spans)
        print(f"in_flight_d{k + 1}\t{busy / tenth:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
