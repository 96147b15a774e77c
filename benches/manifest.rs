//! Micro-benchmarks of the manifest (issue #7): `Manifest::load`, `Manifest::save`, and the
//! load + record + save cycle of a run (`ManifestUpdate`) of one link and of every link, for
//! archives of 1k to 100k links with 3 snapshots each (the shape `benches/gen.py manifest`
//! writes). `cargo bench --bench manifest`.

use std::path::Path;

use divan::Bencher;
use divan::counter::ItemsCount;
use linkkeep::manifest::{Capture, LastCheck, LinkEntry, Manifest, ManifestUpdate, Snapshot};
use serde_json::json;

// The allocator the binary uses (src/main.rs): the manifest's cost is mostly allocation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const LINKS: [usize; 3] = [1_000, 10_000, 100_000];
const SNAPSHOTS: usize = 3;
const RUN: &str = "20260101T000000Z-abcd";

// Built through serde from the wire format, not struct literals, so that fields added to the
// manifest types (with serde defaults) do not break the benchmark.
fn check(url: &str) -> LastCheck {
    serde_json::from_value(json!({
        "at": "2026-03-01T12:00:00Z", "outcome": "ok", "http_status": 200,
        "final_url": url, "error": null, "run": RUN,
    }))
    .unwrap()
}

fn snapshot(i: usize, s: usize, url: &str) -> Snapshot {
    let sha256 = format!("{i:08x}{s:08x}{}", "a".repeat(48));
    serde_json::from_value(json!({
        "object": linkkeep::store::object_rel_path(&sha256),
        "warc": format!("warc/{RUN}.warc.gz"),
        "warc_record": {
            "offset": 1000 * i + s, "length": 123_900 + i,
            "record_id": format!("<urn:uuid:{i:08x}-{s:04x}-4000-8000-000000000000>"),
            "date": format!("2026-0{}-01T00:00:00Z", 1 + s),
            "payload_digest": format!("sha256:{sha256}"),
        },
        "sha256": sha256,
        "size": 123_456 + i as u64,
        "content_type": "application/pdf",
        "first_seen": format!("2026-0{}-01T00:00:00Z", 1 + s),
        "last_seen": format!("2026-0{}-01T12:00:00Z", 1 + s),
        "http_status": 200,
        "url": url,
        "final_url": url,
        "etag": format!("\"{i:x}-{s}\""),
        "last_modified": "Mon, 05 Feb 2018 12:30:00 GMT",
        "title": format!("Report number {i} on enhanced cooperation, revision {s}"),
        "run": RUN,
    }))
    .unwrap()
}

fn manifest(links: usize) -> Manifest {
    let mut manifest = Manifest::new();
    manifest.updated_at = Some("2026-03-01T12:00:00Z".into());
    for i in 0..links {
        let url = url(i);
        let mut entry = LinkEntry {
            url: url.clone(),
            ..LinkEntry::default()
        };
        entry.last_check = Some(check(&url));
        entry.snapshots = (0..SNAPSHOTS).map(|s| snapshot(i, s, &url)).collect();
        manifest.links.insert(format!("example-org-{i:06}"), entry);
    }
    manifest
}

/// An archive directory holding a saved manifest of `links` links.
fn archive(links: usize) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(links);
    manifest.save(dir.path()).unwrap();
    (dir, manifest)
}

#[divan::bench(args = LINKS, sample_count = 10, sample_size = 1)]
fn load(bencher: Bencher, links: usize) {
    let (dir, _) = archive(links);
    bencher
        .counter(ItemsCount::new(links))
        .bench_local(|| Manifest::load(dir.path()).unwrap());
}

#[divan::bench(args = LINKS, sample_count = 10, sample_size = 1)]
fn save(bencher: Bencher, links: usize) {
    let (dir, manifest) = archive(links);
    bencher
        .counter(ItemsCount::new(links))
        .bench_local(|| manifest.save(dir.path()).unwrap());
}

/// The links.json entries of the first `n` links of [`manifest`].
fn run_links(n: usize) -> Vec<linkkeep::links::Link> {
    let links: Vec<_> = (0..n)
        .map(|i| json!({"id": format!("example-org-{i:06}"), "url": url(i)}))
        .collect();
    let text = json!({"version": 1, "links": links}).to_string();
    linkkeep::links::parse(Path::new("links.json"), &text).unwrap().links
}

fn url(i: usize) -> String {
    format!("https://example.org/papers/{i:06}/report.pdf")
}

/// What `archive` does to the manifest around its fetches, for a run over the first `run`
/// links: load (reading only their entries), record a capture of each, save.
fn load_record_save(bencher: Bencher, links: usize, run: usize) {
    let (dir, _) = archive(links);
    let path: &Path = dir.path();
    let run = run_links(run);
    bencher.counter(ItemsCount::new(links)).bench_local(|| {
        let mut manifest = ManifestUpdate::load(path, &run).unwrap();
        for (i, link) in run.iter().enumerate() {
            let capture = Capture::Payload(Box::new(snapshot(i, SNAPSHOTS, &link.url)));
            manifest
                .record(&link.id, &link.url, check(&link.url), Some(capture))
                .unwrap();
        }
        manifest.save(path).unwrap();
        manifest
    });
}

/// A run of one link into an archive of `links`.
#[divan::bench(args = LINKS, sample_count = 10, sample_size = 1)]
fn run_of_one_link(bencher: Bencher, links: usize) {
    load_record_save(bencher, links, 1);
}

/// A run over every link of the archive.
#[divan::bench(args = LINKS, sample_count = 10, sample_size = 1)]
fn run_of_every_link(bencher: Bencher, links: usize) {
    load_record_save(bencher, links, links);
}
