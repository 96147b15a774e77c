//! How linkkeep classifies the drift corpus (issue #14): every (base, noise-k) pair should be
//! `cosmetic` (target: at least 99 %), every (base, edit-*) pair `changed` (at least 95 %).
//! The pairs go through the code `archive` uses on a capture whose bytes differ from the latest
//! snapshot: the main text of each page ([`linkkeep::text::main_text`]), then
//! [`linkkeep::text::compare`].
//!
//!     python3 benches/drift.py benches/.data/drift 200
//!     cargo bench --bench drift -- benches/.data/drift
//!
//! Prints one line per misclassified pair, then a TSV summary (`kind`, `pairs`, `cosmetic`,
//! `changed`, `rate`) and the extraction time per page; benches/run.sh's `drift` scenario
//! records the summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linkkeep::text::{compare, main_text};

fn main() {
    // `cargo bench` passes `--bench`; the corpus is the first argument that is not a flag.
    let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench drift -- CORPUS_DIR   (made by benches/drift.py)");
        std::process::exit(2);
    };
    let mut articles: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.expect("a readable directory").path())
        .filter(|path| path.join("base.html").is_file())
        .collect();
    articles.sort();
    if articles.is_empty() {
        eprintln!("{dir} holds no article directories (run benches/drift.py first)");
        std::process::exit(2);
    }

    // kind ("noise" or "edit") -> (pairs, cosmetic)
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut pages, mut extracting) = (0u32, Duration::ZERO);
    let mut text_of = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let started = Instant::now();
        let text = main_text(Some("text/html; charset=utf-8"), &bytes).unwrap_or_default();
        extracting += started.elapsed();
        pages += 1;
        text
    };
    for article in &articles {
        let base = text_of(&article.join("base.html"));
        let mut variants: Vec<PathBuf> = std::fs::read_dir(article)
            .expect("a readable directory")
            .map(|entry| entry.expect("a readable entry").path())
            .filter(|path| path.file_name().is_some_and(|n| n != "base.html"))
            .collect();
        variants.sort();
        for variant in variants {
            let name = variant.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let kind = if name.starts_with("noise") { "noise" } else { "edit" };
            let comparison = compare(&base, &text_of(&variant));
            let entry = counts.entry(kind).or_default();
            entry.0 += 1;
            entry.1 += usize::from(comparison.cosmetic);
            if comparison.cosmetic != (kind == "noise") {
                println!(
                    "misclassified\t{}\tcosmetic={}\tsimilarity={:.4}",
                    variant.display(),
                    comparison.cosmetic,
                    comparison.similarity
                );
            }
        }
    }

    println!("kind\tpairs\tcosmetic\tchanged\trate");
    for (kind, (pairs, cosmetic)) in &counts {
        let right = if *kind == "noise" { *cosmetic } else { pairs - cosmetic };
        println!(
            "{kind}\t{pairs}\t{cosmetic}\t{}\t{:.4}",
            pairs - cosmetic,
            right as f64 / *pairs as f64
        );
    }
    println!(
        "extraction\t{pages} pages\t{:.3} ms per page",
        extracting.as_secs_f64() * 1000.0 / f64::from(pages.max(1))
    );
}
