#!/usr/bin/env python3
"""Generates the inputs of benches/run.sh: URL lists, served files and a large manifest.

Subcommands (all idempotent; existing files of the right size are kept):
  check-urls N HOSTS PORT_BASE OUT_DIR       links.json (bare array), urls.txt, curl.cfg
  archive-files N SIZE DATA_DIR              N files of SIZE random bytes under DATA_DIR/a/
  archive-urls N HOSTS PORT_BASE OUT_DIR     links.json, urls.txt, curl.cfg for those files
  html-files N DATA_DIR                      N HTML pages of 30-58 KB under DATA_DIR/html-v1/
                                             (deterministic: the same N gives the same bytes)
  html-urls N HOSTS PORT_BASE PREFIX OUT_DIR links.json, urls.txt, curl.cfg for those pages,
                                             served under /PREFIX/ (h: plain, hz: gzip on)
  manifest N SNAPSHOTS ARCHIVE_DIR [LINKS]   ARCHIVE_DIR/manifest.json laid out as
                                             Manifest::save writes it (objects and WARC
                                             files are not created); LINKS, if given, gets
                                             the matching links.json
  wide-urls N HOSTS PORT KIND OUT_DIR        the wide web of issue #19 for benches/wide_server.rs:
                                             N URLs over HOSTS loopback addresses, uneven and
                                             listed in clumps; KIND check (one small page) or
                                             archive (bodies of 64 KiB-2 MiB); also writes
                                             shape.json (links and bytes per host)
  ideal SHAPE C P D [BW]                     the ideal schedule's wall time in seconds for
                                             shape.json with C requests in flight, P per host,
                                             D seconds per response, BW bytes/s of loopback
"""

import itertools
import json
import os
import random
import sys


def url_lists(urls, out_dir, curl_extra=""):
    """Writes the same URLs in each tool's input format."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "links.json"), "w") as f:
        json.dump(urls, f, indent=0)
    with open(os.path.join(out_dir, "urls.txt"), "w") as f:
        f.write("\n".join(urls) + "\n")
    with open(os.path.join(out_dir, "curl.cfg"), "w") as f:
        for i, url in enumerate(urls):
            f.write(f'url = "{url}"\n')
            if curl_extra:
                f.write(curl_extra.format(i=i, name=url.rsplit("/", 1)[-1]) + "\n")


def check_urls(n, hosts, port_base, out_dir):
    # Every /c/ path serves the same small page (see the nginx config): distinct URLs, one file.
    urls = [f"http://127.0.0.1:{port_base + i % hosts}/c/page-{i:06d}.html" for i in range(n)]
    url_lists(urls, out_dir, 'output = "/dev/null"')


def archive_files(n, size, data_dir):
    d = os.path.join(data_dir, "a")
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        path = os.path.join(d, f"f{i:05d}.bin")
        if os.path.exists(path) and os.path.getsize(path) == size:
            continue
        with open(path + ".tmp", "wb") as f:
            f.write(os.urandom(size))
        os.replace(path + ".tmp", path)


def archive_urls(n, hosts, port_base, out_dir):
    urls = [f"http://127.0.0.1:{port_base + i % hosts}/a/f{i:05d}.bin" for i in range(n)]
    url_lists(urls, out_dir, 'output = "{name}"')


# ---------------------------------------------------------------------------------------------
# HTML corpus (issue #13): pages that compress like real ones. Prose from a Zipf-distributed
# vocabulary with light markup compresses with gzip -6 to about 0.37 of its size (enwik8: 0.36);
# real pages get to 0.2-0.35 through their markup (class lists, nav, related-article cards,
# share buttons with inline SVG). These pages come out at 0.32 (gzip -6) and 0.35 (zlib level
# 1) over 1,500 pages: neither trivially repetitive nor random bytes. Bump HTML_DIR's version when changing anything
# here, so that a cached corpus is regenerated.
HTML_DIR = "html-v1"


def _vocabulary(n, rng):
    onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
              "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "pl", "pr", "sh", "sl", "sp", "st", "th", "tr", "wh"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou", "y"]
    codas = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "nt", "rd", "st", "ck", "ss", "x"]
    words, seen = [], set()
    while len(words) < n:
        rank = len(words)
        # Frequent words are short, as in English.
        syllables = 1 if rank < 150 else rng.choice([1, 2, 2, 3] if rank > 1000 else [1, 1, 2])
        w = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


_VOCAB = _vocabulary(4000, random.Random(13))
_CUM = list(itertools.accumulate(1.0 / (r + 2.7) ** 1.1 for r in range(len(_VOCAB))))
_COLORS = ["#333", "#1a0dab", "#5f6368", "#202124", "#b3261e", "#0b57d0", "#146c2e"]
_MONTHS = ["January", "March", "June", "September", "November"]
_CSS = """body{margin:0;font-family:Georgia,'Times New Roman',serif;color:#202124;background:#fff}
header,footer{background:#f8f9fa;padding:12px 24px;border-bottom:1px solid #dadce0}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:12px}
article{max-width:760px;margin:24px auto;line-height:1.6}h1{font-size:2em}h2{font-size:1.4em;margin-top:1.6em}
table{border-collapse:collapse}td,th{border:1px solid #dadce0;padding:4px 8px}
.meta{color:#5f6368;font-size:.9em}.note{background:#fef7e0;padding:8px;border-left:4px solid #f9ab00}"""
_SHARE = """<div class="share-bar flex gap-2 my-4" role="group" aria-label="Share">
<a class="share-button share-button--twitter" href="https://twitter.com/intent/tweet?url=https%3A%2F%2Fexample.org%2F{slug}%2F{n}" rel="noopener" target="_blank"><svg class="icon" width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path d="M23.954 4.569a10 10 0 0 1-2.825.775 4.958 4.958 0 0 0 2.163-2.723c-.951.555-2.005.959-3.127 1.184a4.92 4.92 0 0 0-8.384 4.482C7.691 8.094 4.066 6.13 1.64 3.161a4.822 4.822 0 0 0-.666 2.475c0 1.71.87 3.213 2.188 4.096a4.904 4.904 0 0 1-2.228-.616v.061a4.923 4.923 0 0 0 3.946 4.827 4.996 4.996 0 0 1-2.212.085 4.937 4.937 0 0 0 4.604 3.417 9.868 9.868 0 0 1-6.102 2.105c-.39 0-.779-.023-1.17-.067a13.995 13.995 0 0 0 7.557 2.209c9.054 0 13.999-7.496 13.999-13.986 0-.209 0-.42-.015-.63a9.936 9.936 0 0 0 2.46-2.548l-.047-.02z"/></svg><span class="sr-only">Share on Twitter</span></a>
<a class="share-button share-button--email" href="mailto:?subject={slug}&amp;body=https%3A%2F%2Fexample.org%2F{slug}%2F{n}"><svg class="icon" width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path d="M20 4H4c-1.1 0-1.99.9-1.99 2L2 18c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 4-8 5-8-5V6l8 5 8-5v2z"/></svg><span class="sr-only">Share by email</span></a>
</div>
"""


def _words(rng, k):
    return rng.choices(_VOCAB, cum_weights=_CUM, k=k)


def _sentence(rng):
    ws = _words(rng, rng.randint(6, 24))
    ws[0] = ws[0].capitalize()
    return " ".join(ws) + rng.choice([".", ".", ".", "?", "!", ";"])


def _inline(rng):
    """A paragraph's content: sentences, some of them links, emphasis or inline-styled spans."""
    parts = []
    for _ in range(rng.randint(2, 7)):
        s = _sentence(rng)
        r = rng.random()
        if r < 0.25:
            ws = s.split(" ")
            j = rng.randrange(len(ws))
            k = min(len(ws), j + rng.randint(1, 4))
            href = "/" + "/".join(_words(rng, rng.randint(1, 3))) + f"/{rng.randint(1, 99999)}.html"
            ws[j:k] = [f'<a href="{href}" title="{" ".join(_words(rng, 3))}">' + " ".join(ws[j:k]) + "</a>"]
            s = " ".join(ws)
        elif r < 0.35:
            s = f"<em>{s}</em>"
        elif r < 0.42:
            s = f"<strong>{s}</strong>"
        elif r < 0.5:
            s = f'<span style="color:{rng.choice(_COLORS)};font-size:{rng.randint(12, 18)}px">{s}</span>'
        parts.append(s)
    return " ".join(parts)


def html_page(i, target):
    """Page number I, about TARGET bytes long; the same I always gives the same bytes."""
    rng = random.Random(1000003 * i + 7)
    title = " ".join(_words(rng, rng.randint(4, 9))).capitalize()
    out = [f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           f'<meta name="description" content="{_sentence(rng)}">\n'
           f'<link rel="canonical" href="https://example.org/{"/".join(_words(rng, 2))}/{i}.html">\n'
           f'<style>\n{_CSS}\n</style>\n</head>\n<body>\n<header>\n<nav><ul>\n']
    for _ in range(rng.randint(8, 20)):
        w = _words(rng, rng.randint(1, 3))
        out.append(f'<li><a href="/{"-".join(w)}/" class="nav-link">{" ".join(w).title()}</a></li>\n')
    out.append(f'</ul></nav>\n</header>\n<main>\n<article id="post-{i}">\n<h1>{title}</h1>\n'
               f'<p class="meta">By {" ".join(_words(rng, 2)).title()} &middot; {rng.randint(1, 28)} '
               f'{rng.choice(_MONTHS)} {rng.randint(2003, 2025)}</p>\n')
    size = sum(map(len, out))
    while size < target:
        r = rng.random()
        if r < 0.12:
            s = f'<h2 id="s{size}">{" ".join(_words(rng, rng.randint(2, 7))).capitalize()}</h2>\n'
        elif r < 0.18:
            s = "<ul>\n" + "".join(f"<li>{_inline(rng)}</li>\n" for _ in range(rng.randint(2, 6))) + "</ul>\n"
        elif r < 0.21:
            rows = "".join(
                "<tr>" + "".join(f"<td>{rng.choice([rng.randint(0, 9999), ' '.join(_words(rng, 2))])}</td>" for _ in range(4))
                + "</tr>\n" for _ in range(rng.randint(3, 10)))
            s = f'<table class="data">\n<tr><th>{"</th><th>".join(_words(rng, 4))}</th></tr>\n{rows}</table>\n'
        elif r < 0.24:
            s = f'<div class="note" style="margin:12px 0;padding:8px 12px">{_inline(rng)}</div>\n'
        elif r < 0.30:
            cards = []
            for _ in range(rng.randint(3, 8)):
                w = _words(rng, rng.randint(3, 7))
                cards.append(
                    '  <li class="related-item flex items-start gap-3 py-2 border-b border-gray-100">'
                    '<a class="related-link text-sm font-medium text-blue-700 hover:underline" '
                    f'href="/{rng.randint(2005, 2025)}/{rng.randint(1, 12):02d}/{"-".join(w)}-{rng.randint(1000, 99999)}/">'
                    f'<img loading="lazy" decoding="async" class="related-thumb rounded" '
                    f'src="/media/{rng.randint(10**5, 10**6)}-{w[0]}.jpg" width="96" height="64" alt="">'
                    f'<span class="related-title">{" ".join(w).capitalize()}</span></a></li>\n')
            s = ('<aside class="related mt-6 mb-6" aria-label="Related articles">\n'
                 '<h3 class="related-heading text-xs uppercase tracking-wide text-gray-500">Related</h3>\n'
                 '<ul class="related-list list-none p-0 m-0">\n' + "".join(cards) + "</ul>\n</aside>\n")
        elif r < 0.32:
            s = _SHARE.format(slug="-".join(_words(rng, 4)), n=rng.randint(1, 10**6))
        elif r < 0.34:
            s = (f'<figure><img src="/img/{rng.randint(1, 10**6)}.jpg" alt="{" ".join(_words(rng, 5))}" '
                 f'width="{rng.randint(200, 800)}" height="{rng.randint(150, 600)}">'
                 f"<figcaption>{_sentence(rng)}</figcaption></figure>\n")
        else:
            s = (f'<div class="article-body__block flex flex-col gap-2 md:flex-row" data-block="{rng.randint(1, 9999)}">\n'
                 f'  <p class="article-body__paragraph text-base leading-7 text-gray-800 dark:text-gray-200 mb-4">'
                 f"{_inline(rng)}</p>\n</div>\n")
        out.append(s)
        size += len(s)
    out.append('</article>\n</main>\n<footer>\n<p>&copy; ' + " ".join(_words(rng, 3)).title()
               + '. <a href="/about/">About</a> <a href="/contact/">Contact</a></p>\n</footer>\n</body>\n</html>\n')
    return "".join(out).encode()


def html_files(n, data_dir):
    d = os.path.join(data_dir, HTML_DIR)
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        path = os.path.join(d, f"p{i:05d}.html")
        if os.path.exists(path):
            continue
        body = html_page(i, random.Random(i).randint(30_000, 58_000))
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.replace(path + ".tmp", path)


def html_urls(n, hosts, port_base, prefix, out_dir):
    urls = [f"http://127.0.0.1:{port_base + i % hosts}/{prefix}/p{i:05d}.html" for i in range(n)]
    url_lists(urls, out_dir, 'output = "{name}"')


def manifest(n, snapshots, archive_dir, links_path=None):
    """A manifest shaped like a long-lived archive: every link checked, SNAPSHOTS captures each."""
    os.makedirs(archive_dir, exist_ok=True)
    run = "20260101T000000Z-abcd"
    links = {}
    listed = []
    for i in range(n):
        link_id = f"example-org-{i:06d}"
        url = f"https://example.org/papers/{i:06d}/report.pdf"
        listed.append({"id": link_id, "url": url})
        snaps = []
        for s in range(snapshots):
            sha = f"{i:08x}{s:08x}".ljust(64, "a")
            day = f"2026-0{1 + s}-01"
            snaps.append({
                "sha256": sha,
                "size": 123456 + i,
                "content_type": "application/pdf",
                "first_seen": f"{day}T00:00:00Z",
                "last_seen": f"{day}T12:00:00Z",
                "http_status": 200,
                "url": url,
                "final_url": url,
                "etag": f'"{i:x}-{s}"',
                "last_modified": "Mon, 05 Feb 2018 12:30:00 GMT",
                "title": f"Report number {i} on enhanced cooperation, revision {s}",
                "object": f"objects/sha256/{sha[:2]}/{sha[2:]}",
                "warc": f"warc/{run}.warc.gz",
                "warc_record": {
                    "offset": 1000 * i + s,
                    "length": 123900 + i,
                    "record_id": f"<urn:uuid:{i:08x}-{s:04x}-4000-8000-000000000000>",
                    "date": f"{day}T00:00:00Z",
                    "payload_digest": "sha256:" + sha,
                },
                "run": run,
            })
        links[link_id] = {
            "url": url,
            "last_check": {
                "at": "2026-03-01T12:00:00Z",
                "outcome": "ok",
                "http_status": 200,
                "url": url,
                "final_url": url,
                "error": None,
                "run": run,
            },
            "snapshots": snaps,
        }
    # One link per line, as Manifest::save writes it (src/manifest/json.rs).
    with open(os.path.join(archive_dir, "manifest.json"), "w") as f:
        f.write('{"schema_version":1,"updated_at":"2026-03-01T12:00:00Z",\n"links": {')
        for k, (link_id, entry) in enumerate(links.items()):
            f.write("\n" if k == 0 else ",\n")
            f.write(json.dumps(link_id) + ": " + json.dumps(entry, separators=(",", ":")))
        f.write("\n}}\n")
    if links_path:
        with open(links_path, "w") as f:
            json.dump({"version": 1, "links": listed}, f, indent=0)


def run_reports(n, runs, archive_dir):
    """RUNS daily run reports of the N links `manifest` writes, as `archive` writes them
    (runs/<run-id>.json): most links unchanged, one in fifty changed, one in a hundred failing.
    Shaped like an archive run from cron for a long time, for serve's link pages."""
    rng = random.Random(7)
    runs_dir = os.path.join(archive_dir, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    for r in range(runs):
        day = 1 + r
        started = f"2026-01-01T00:00:00Z" if r == 0 else f"2027-{1 + (day // 28) % 12:02d}-{1 + day % 28:02d}T00:00:00Z"
        run_id = f"{started[:4]}{started[5:7]}{started[8:10]}T000000Z-r{r:03d}"
        results = []
        for i in range(n):
            url = f"https://example.org/papers/{i:06d}/report.pdf"
            roll = rng.random()
            failed = roll < 0.01
            change = None if failed else ("changed" if roll < 0.03 else "unchanged")
            results.append({
                "id": f"example-org-{i:06d}", "url": url,
                "outcome": "http_error" if failed else "ok",
                "http_status": 404 if failed else (200 if change == "changed" else 304),
                "final_url": url, "redirects": [], "attempts": 1, "elapsed_ms": 40,
                "content_type": None if failed else "application/pdf", "size": None if failed else 123456,
                "sha256": None if failed else f"{i:08x}{r:08x}".ljust(64, "b"),
                "change": change, "similarity": 0.8 if change == "changed" else None,
                "error": "HTTP 404 Not Found" if failed else None,
            })
        report = {
            "tool": "linkkeep", "version": "0.1.0", "command": "archive", "run": run_id,
            "started_at": started, "finished_at": started, "elapsed_ms": 60000,
            "summary": {"total": n}, "results": results,
        }
        with open(os.path.join(runs_dir, run_id + ".json"), "w") as f:
            json.dump(report, f, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# The wide web (issue #19): hundreds of hosts, a few with many cited pages and most with a
# handful, every response slow. Host i is the loopback address benches/wide_server.rs gives it.


def wide_host(i):
    return f"127.1.{1 + i // 200}.{1 + i % 200}"


def wide_shape(n, hosts, rng):
    """Links per host: hosts // 50 big hosts of 200 links, 90 % of the hosts with 2-5, and the
    rest (medium hosts) sharing what is left, as evenly as whole numbers allow."""
    big = max(1, hosts // 50)
    small = hosts * 9 // 10
    medium = hosts - big - small
    counts = [200] * big + [rng.randint(2, 5) for _ in range(small)]
    left = n - sum(counts)
    if medium < 1 or left < medium * 6:
        sys.exit(f"gen.py: {n} links are too few for the wide shape over {hosts} hosts")
    counts += [left // medium + (1 if k < left % medium else 0) for k in range(medium)]
    order = list(range(hosts))
    rng.shuffle(order)  # which address gets which count
    by_host = [0] * hosts
    for host, count in zip(order, counts):
        by_host[host] = count
    return by_host


def wide_urls(n, hosts, port, kind, out_dir):
    """Reference lists cite several pages of one site in a row: each host's links are cut into
    clumps (small hosts whole, medium ones in 3-15, big ones in 5-40) and the clumps shuffled."""
    rng = random.Random(19)
    counts = wide_shape(n, hosts, rng)
    clumps, sizes = [], {}
    for host, count in enumerate(counts):
        lo, hi = (count, count) if count <= 5 else (3, 15) if count < 200 else (5, 40)
        k = 0
        while k < count:
            step = min(count - k, rng.randint(lo, hi))
            clumps.append([(host, k + j) for j in range(step)])
            k += step
    rng.shuffle(clumps)
    urls, host_bytes = [], [0] * hosts
    for clump in clumps:
        for host, k in clump:
            base = f"http://{wide_host(host)}:{port}"
            if kind == "check":
                urls.append(f"{base}/c/w{host:03d}-{k:03d}.html")
            else:
                # Log-uniform from 64 KiB to 2 MiB: most bodies are pages, some are PDFs.
                size = int(round(2 ** rng.uniform(16, 21)))
                host_bytes[host] += size
                urls.append(f"{base}/a/{size}/w{host:03d}-{k:03d}.bin")
    url_lists(urls, out_dir, 'output = "/dev/null"')
    with open(os.path.join(out_dir, "shape.json"), "w") as f:
        json.dump({"links": counts, "bytes": host_bytes}, f)


def ideal(shape_path, c, p, d, bw=None):
    """No schedule beats this (issue #19): every response takes at least d plus its transfer,
    a host serves at most p at once, the run at most c at once, and the bytes go through one
    loopback of bw bytes/s. Without bw: max(max_h ceil(n_h / p) * d, ceil(N / c) * d)."""
    shape = json.load(open(shape_path))
    links, size = shape["links"], shape["bytes"]
    transfer = (lambda b: b / bw) if bw else (lambda b: 0.0)
    per_host = max(
        max(-(-n // p) * d, (n * d + transfer(b)) / p) for n, b in zip(links, size) if n
    )
    total_n, total_b = sum(links), sum(size)
    overall = max(-(-total_n // c) * d, (total_n * d + transfer(total_b)) / c, transfer(total_b))
    return max(per_host, overall)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "check-urls":
        check_urls(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "archive-files":
        archive_files(int(args[0]), int(args[1]), args[2])
    elif cmd == "archive-urls":
        archive_urls(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "html-files":
        html_files(int(args[0]), args[1])
    elif cmd == "html-urls":
        html_urls(int(args[0]), int(args[1]), int(args[2]), args[3], args[4])
    elif cmd == "manifest":
        manifest(int(args[0]), int(args[1]), args[2], args[3] if len(args) > 3 else None)
    elif cmd == "run-reports":
        run_reports(int(args[0]), int(args[1]), args[2])
    elif cmd == "wide-urls":
        wide_urls(int(args[0]), int(args[1]), int(args[2]), args[3], args[4])
    elif cmd == "ideal":
        bw = float(args[4]) if len(args) > 4 else None
        print(f"{ideal(args[0], int(args[1]), int(args[2]), float(args[3]), bw):.4f}")
    else:
        sys.exit(f"gen.py: unknown command {cmd!r}")


if __name__ == "__main__":
    main(sys.argv)
