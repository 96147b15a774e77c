#!/usr/bin/env python3
"""Generates the inputs of benches/run.sh: URL lists, served files and a large manifest.

Subcommands (all idempotent; existing files of the right size are kept):
  check-urls N HOSTS PORT_BASE OUT_DIR       links.json (bare array), urls.txt, curl.cfg
  archive-files N SIZE DATA_DIR              N files of SIZE random bytes under DATA_DIR/a/
  archive-urls N HOSTS PORT_BASE OUT_DIR     links.json, urls.txt, curl.cfg for those files
  manifest N SNAPSHOTS ARCHIVE_DIR [LINKS]   ARCHIVE_DIR/manifest.json laid out as
                                             Manifest::save writes it (objects and WARC
                                             files are not created); LINKS, if given, gets
                                             the matching links.json
"""

import json
import os
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


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "check-urls":
        check_urls(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "archive-files":
        archive_files(int(args[0]), int(args[1]), args[2])
    elif cmd == "archive-urls":
        archive_urls(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "manifest":
        manifest(int(args[0]), int(args[1]), args[2], args[3] if len(args) > 3 else None)
    else:
        sys.exit(f"gen.py: unknown command {cmd!r}")


if __name__ == "__main__":
    main(sys.argv)
