//! Issue #14: main-text extractors compared on linkkeep's drift corpus (benches/drift.py) and on
//! the 44 KB generated HTML corpus (benches/.data/html-v1).
//!
//!     extractors quality DRIFT_DIR [OUT_DIR]        # classification + leaks (any build)
//!     extractors html-check HTML_DIR [OUT_DIR]      # 44 KB pages: paragraphs kept, boxes leaked
//!     extractors timing DRIFT_DIR HTML_DIR [REPS]   # per-page extraction time (use --release)
//!
//! Candidates: the baseline (all body text), dom_smoothie 0.19 (as linkkeep calls it, fallback
//! included), rs-trafilatura, readability (kumabook) and legible (a Readability.js port).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use similar::{capture_diff_slices, Algorithm, DiffTag};
use unicode_normalization::UnicodeNormalization;

// ---------------------------------------------------------------------------------------------
// The candidates.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Candidate {
    Baseline,
    DomSmoothie,
    Trafilatura,
    Readability,
    Legible,
    /// legible's `markdown_content` (computed by the same call): keeps one line per block.
    LegibleMarkdown,
}

const CANDIDATES: [Candidate; 6] = [
    Candidate::Baseline,
    Candidate::DomSmoothie,
    Candidate::Trafilatura,
    Candidate::Readability,
    Candidate::Legible,
    Candidate::LegibleMarkdown,
];

impl Candidate {
    fn name(self) -> &'static str {
        match self {
            Candidate::Baseline => "baseline (body text)",
            Candidate::DomSmoothie => "dom_smoothie 0.19.0",
            Candidate::Trafilatura => "rs-trafilatura 0.2.2",
            Candidate::Readability => "readability 0.3.0",
            Candidate::Legible => "legible 0.5.1",
            Candidate::LegibleMarkdown => "legible 0.5.1 (markdown_content)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Candidate::Baseline => "baseline",
            Candidate::DomSmoothie => "dom_smoothie",
            Candidate::Trafilatura => "rs-trafilatura",
            Candidate::Readability => "readability",
            Candidate::Legible => "legible",
            Candidate::LegibleMarkdown => "legible-markdown",
        }
    }

    /// The page's main text, or why there is none.
    fn extract(self, html: &str) -> Result<String, String> {
        match self {
            Candidate::Baseline => Ok(baseline(html)),
            Candidate::DomSmoothie => Ok(dom_smoothie_main_text(html)),
            Candidate::Trafilatura => rs_trafilatura::extract(html)
                .map(|r| r.content_text)
                .map_err(|e| e.to_string()),
            Candidate::Readability => {
                let url = url::Url::parse("https://example.org/").expect("a valid URL");
                readability::extractor::extract(&mut html.as_bytes(), &url)
                    .map(|p| p.text)
                    .map_err(|e| format!("{e:?}"))
            }
            Candidate::Legible => {
                let options = legible::Options::new().char_threshold(500).disable_json_ld(true);
                legible::parse(html, None, Some(options))
                    .map(|a| a.text_content)
                    .map_err(|e| e.to_string())
            }
            Candidate::LegibleMarkdown => {
                let options = legible::Options::new().char_threshold(500).disable_json_ld(true);
                legible::parse(html, None, Some(options))
                    .map(|a| a.markdown_content)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// All the body's text, scripts and styles removed: no boilerplate removal at all.
fn baseline(html: &str) -> String {
    let document = dom_query::Document::from(html);
    document.select("script, style, noscript, template").remove();
    document.select("body").text().to_string()
}

// dom_smoothie exactly as linkkeep's src/text/html.rs calls it (after the charset decoding,
// which is the identity here: the corpus is UTF-8).

const NEVER_CONTENT: &str = "script, style, noscript, template, iframe, svg, canvas, object, embed, \
    nav, header, footer, aside, form, button, select, textarea, input, [hidden], [aria-hidden=true]";
const ARTICLE_MIN_CHARS: usize = 500;

fn dom_smoothie_main_text(html: &str) -> String {
    use dom_smoothie::{Config, Readability, TextMode};
    let config = Config {
        char_threshold: ARTICLE_MIN_CHARS,
        text_mode: TextMode::Formatted,
        disable_json_ld: true,
        ..Config::default()
    };
    let document = dom_query::Document::from(html);
    match Readability::with_document(document, None, Some(config)).and_then(|mut r| r.parse()) {
        Ok(article) if article.length >= ARTICLE_MIN_CHARS => article.text_content.to_string(),
        _ => {
            FALLBACKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            body_text(html)
        }
    }
}

static FALLBACKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

static UNLIKELY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[-_ ])(ads?|advert|advertisement|banner|breadcrumbs?|combx|comments?|cookie|disqus|gdpr|menu|nav|newsletter|pagination|pager|popup|promo|related|share|sharing|sidebar|skyscraper|social|sponsor(ed)?|subscribe)([-_ ]|$)",
    )
    .expect("a valid pattern")
});

fn body_text(html: &str) -> String {
    let document = dom_query::Document::from(html);
    document.select(NEVER_CONTENT).remove();
    for node in document.select("[class], [id]").nodes() {
        let names = [node.attr("class"), node.attr("id")];
        if names.iter().flatten().any(|name| UNLIKELY.is_match(name)) {
            node.remove_from_parent();
        }
    }
    let body = document.select("body");
    let text = if body.exists() { body.formatted_text() } else { document.formatted_text() };
    text.to_string()
}

// ---------------------------------------------------------------------------------------------
// Normalisation and the cosmetic rule (the brief's simple version of linkkeep's).

/// NFKC, whitespace collapsed within each line, blank lines dropped.
fn normalize(raw: &str) -> String {
    let nfkc: String = raw.nfkc().collect();
    let mut out = String::with_capacity(nfkc.len());
    for line in nfkc.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&words.join(" "));
    }
    out
}

const MONTHS_AND_DAYS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
];

/// A word that changes by itself: it has a digit, names a month or a weekday, or is punctuation.
fn is_volatile(word: &str) -> bool {
    let core = word.trim_matches(|c: char| !c.is_alphanumeric());
    core.is_empty()
        || core.chars().any(|c| c.is_ascii_digit())
        || MONTHS_AND_DAYS.contains(&core.to_lowercase().as_str())
}

/// The words that differ between two normalised texts (empty: cosmetic).
fn differing_words(old: &str, new: &str) -> Vec<String> {
    if old == new {
        return Vec::new();
    }
    let old: Vec<&str> = old.split_whitespace().collect();
    let new: Vec<&str> = new.split_whitespace().collect();
    let mut out = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        if op.tag() != DiffTag::Equal {
            out.extend(old[op.old_range()].iter().map(|w| format!("-{w}")));
            out.extend(new[op.new_range()].iter().map(|w| format!("+{w}")));
        }
    }
    out
}

fn is_cosmetic(old: &str, new: &str) -> bool {
    differing_words(old, new).iter().all(|w| is_volatile(&w[1..]))
}

// ---------------------------------------------------------------------------------------------
// Leaks: boilerplate of the drift corpus's pages found in the extracted text.

const LEAKS: [&str; 5] = ["ad", "related", "nav", "byline time", "footer"];

/// The article's paragraphs (drift.py indents them; the byline and footer paragraphs are not).
static PARAGRAPH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]+<p>(.*)</p>$").unwrap());

/// Whether every paragraph of the article is in the text (the extractor lost none).
fn complete(html: &str, text: &str) -> bool {
    let t = letters(text);
    PARAGRAPH.captures_iter(html).all(|c| t.contains(&letters(&c[1])))
}

/// Only the letters and digits, lower-case: paragraphs glued together (readability 0.3.0 joins
/// blocks without a space) are still found.
fn letters(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

static RELATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<li><a href="/story/\d+/">([^<]*)</a></li>"#).unwrap());
static NAV: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<li><a href="/[a-z-]+/">([^<]*)</a></li>"#).unwrap());
static BYLINE_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Updated \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d").unwrap());

/// Lower-case words without their punctuation (bullets and the like dropped).
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn contains_seq(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Which of LEAKS the text of this page shows.
fn leaks(html: &str, text: &str) -> [bool; 5] {
    let w = words(text);
    let related: Vec<Vec<String>> = RELATED.captures_iter(html).map(|c| words(&c[1])).collect();
    let related_found = related.iter().filter(|t| contains_seq(&w, t)).count();
    // The whole menu, its items in order: single items (one or two common words) occur in prose.
    let nav: Vec<String> = NAV.captures_iter(html).flat_map(|c| words(&c[1])).collect();
    [
        text.contains("Sponsored:") || text.contains("Advertisement:"),
        !related.is_empty() && 2 * related_found >= related.len(),
        contains_seq(&w, &nav),
        BYLINE_TIME.is_match(&text.split_whitespace().collect::<Vec<_>>().join(" ")),
        text.contains("Page generated in"),
    ]
}

// ---------------------------------------------------------------------------------------------

fn article_dirs(dir: &str) -> Vec<PathBuf> {
    let mut articles: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.join("base.html").is_file())
        .collect();
    articles.sort();
    articles
}

const VARIANTS: [&str; 8] = [
    "noise-1", "noise-2", "noise-3", "noise-4", "noise-5", "edit-add", "edit-change", "edit-remove",
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn quality(dir: &str, out_dir: Option<&str>) {
    let articles = article_dirs(dir);
    println!("{} articles in {dir}", articles.len());
    println!(
        "candidate\tnoise_pairs\tnoise_cosmetic\tnoise_cosmetic_%\tedit_pairs\tedit_changed\tedit_changed_%\terrors\tempty\tincomplete\tmean_lines\t{}",
        LEAKS.map(|l| format!("leak_{}", l.replace(' ', "_"))).join("\t")
    );
    let mut examples: BTreeMap<Candidate, Vec<String>> = BTreeMap::new();
    for candidate in CANDIDATES {
        FALLBACKS.store(0, std::sync::atomic::Ordering::Relaxed);
        let (mut noise, mut noise_ok, mut edit, mut edit_ok, mut errors, mut empty) = (0, 0, 0, 0, 0, 0);
        let mut incomplete = 0;
        let mut lines = 0usize;
        let mut leak_pages = [0usize; 5];
        for article in &articles {
            let mut text_of = |name: &str| {
                let html = read(&article.join(format!("{name}.html")));
                let raw = candidate.extract(&html).unwrap_or_else(|e| {
                    errors += 1;
                    if errors <= 3 {
                        eprintln!("{}: {}/{name}: {e}", candidate.slug(), article.display());
                    }
                    String::new()
                });
                let text = normalize(&raw);
                if text.is_empty() {
                    empty += 1;
                }
                lines += text.lines().count();
                if !complete(&html, &text) {
                    incomplete += 1;
                }
                for (count, leaked) in leak_pages.iter_mut().zip(leaks(&html, &text)) {
                    *count += leaked as usize;
                }
                if let Some(out) = out_dir {
                    if article.ends_with("a000") || article.ends_with("a001") {
                        let d = Path::new(out).join(candidate.slug());
                        std::fs::create_dir_all(&d).unwrap();
                        let a = article.file_name().unwrap().to_string_lossy();
                        std::fs::write(d.join(format!("{a}-{name}.txt")), &text).unwrap();
                    }
                }
                text
            };
            let base = text_of("base");
            for variant in VARIANTS {
                let text = text_of(variant);
                let cosmetic = is_cosmetic(&base, &text);
                let miss = if variant.starts_with("noise") {
                    noise += 1;
                    noise_ok += cosmetic as usize;
                    cosmetic.then_some(false).unwrap_or(true)
                } else {
                    edit += 1;
                    edit_ok += !cosmetic as usize;
                    cosmetic
                };
                let list = examples.entry(candidate).or_default();
                if miss && list.len() < 4 {
                    let diff = differing_words(&base, &text);
                    let shown: Vec<&str> = diff.iter().map(String::as_str).take(14).collect();
                    list.push(format!(
                        "{}/{variant}: {} differing words: {}",
                        article.file_name().unwrap().to_string_lossy(),
                        diff.len(),
                        shown.join(" ")
                    ));
                }
            }
        }
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        println!(
            "{}\t{noise}\t{noise_ok}\t{:.1}\t{edit}\t{edit_ok}\t{:.1}\t{errors}\t{empty}\t{incomplete}\t{:.1}\t{}",
            candidate.name(),
            pct(noise_ok, noise),
            pct(edit_ok, edit),
            lines as f64 / (noise + edit + articles.len()) as f64,
            leak_pages.map(|n| n.to_string()).join("\t")
        );
        if candidate == Candidate::DomSmoothie {
            println!(
                "# dom_smoothie: linkkeep's body-text fallback taken on {} pages",
                FALLBACKS.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
    println!("\n# First misclassified pairs (noise pair not cosmetic, or edit pair cosmetic):");
    for (candidate, list) in examples {
        for line in list {
            println!("# {}: {line}", candidate.slug());
        }
    }
}

// The 44 KB pages (gen.py html-files): related boxes and share bars sit *inside* <article>.

static ARTICLE_P: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<p class="article-body__paragraph[^"]*">(.*?)</p>"#).unwrap()
});
static RELATED_TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<span class="related-title">([^<]*)</span>"#).unwrap());
static NAV_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<li><a href="[^"]*" class="nav-link">([^<]*)</a></li>"#).unwrap());
static FOOTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<footer>\n<p>&copy; ([^<]*)\. <a"#).unwrap());
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]+>").unwrap());

fn html_check(dir: &str, out_dir: Option<&str>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    files.sort();
    println!("{} pages in {dir}", files.len());
    println!("candidate\tparagraphs_found_%\tpages_complete\tpages_with_related\tleak_related\tpages_with_share\tleak_share\tleak_nav\tleak_footer\terrors\tmean_words");
    // legible's markdown_content is left out: its link syntax ("[text](url)") splits paragraphs.
    for candidate in TIMED {
        let (mut paras, mut found, mut complete_pages, mut errors, mut total_words) = (0, 0, 0, 0, 0);
        let (mut with_related, mut related_leak, mut with_share, mut share_leak, mut nav_leak, mut footer_leak) =
            (0, 0, 0, 0, 0, 0);
        for path in &files {
            let html = read(path);
            let text = normalize(&candidate.extract(&html).unwrap_or_else(|_| {
                errors += 1;
                String::new()
            }));
            let w = words(&text);
            total_words += w.len();
            if let Some(out) = out_dir {
                let name = path.file_stem().unwrap().to_string_lossy();
                if name == "p00000" || name == "p00001" {
                    let d = Path::new(out).join(candidate.slug());
                    std::fs::create_dir_all(&d).unwrap();
                    std::fs::write(d.join(format!("{name}.txt")), &text).unwrap();
                }
            }
            let mut all = true;
            let t = letters(&text);
            for c in ARTICLE_P.captures_iter(&html) {
                let p = letters(&TAG.replace_all(&c[1], " "));
                paras += 1;
                if t.contains(&p) {
                    found += 1;
                } else {
                    all = false;
                    if std::env::var_os("SHOW_MISSING").is_some() {
                        let shown: String = c[1].chars().take(90).collect();
                        eprintln!("{}: {} lost: {shown}", candidate.slug(), path.display());
                    }
                }
            }
            complete_pages += all as usize;
            let related: Vec<Vec<String>> = RELATED_TITLE.captures_iter(&html).map(|c| words(&c[1])).collect();
            if !related.is_empty() {
                with_related += 1;
                let hits = related.iter().filter(|t| contains_seq(&w, t)).count();
                related_leak += (2 * hits >= related.len()) as usize;
            }
            if html.contains("share-bar") {
                with_share += 1;
                share_leak += (text.contains("Share on Twitter") || text.contains("Share by email")) as usize;
            }
            let nav: Vec<String> = NAV_LINK.captures_iter(&html).flat_map(|c| words(&c[1])).collect();
            nav_leak += contains_seq(&w, &nav) as usize;
            if let Some(c) = FOOTER.captures(&html) {
                let mut f = words(&c[1]);
                f.extend(["about".to_string(), "contact".to_string()]);
                footer_leak += contains_seq(&w, &f) as usize;
            }
        }
        println!(
            "{}\t{:.1}\t{complete_pages}\t{with_related}\t{related_leak}\t{with_share}\t{share_leak}\t{nav_leak}\t{footer_leak}\t{errors}\t{:.0}",
            candidate.name(),
            100.0 * found as f64 / paras.max(1) as f64,
            total_words as f64 / files.len() as f64
        );
    }
}

fn median(xs: &mut [Duration]) -> Duration {
    xs.sort();
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2 }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The candidates timed: legible's markdown comes from the same call as its text.
const TIMED: [Candidate; 5] = [
    Candidate::Baseline,
    Candidate::DomSmoothie,
    Candidate::Trafilatura,
    Candidate::Readability,
    Candidate::Legible,
];

fn timing(drift_dir: &str, html_dir: &str, reps: usize) {
    let drift: Vec<String> = article_dirs(drift_dir)
        .iter()
        .flat_map(|a| {
            std::iter::once("base".to_string())
                .chain(VARIANTS.iter().map(|v| v.to_string()))
                .map(|name| read(&a.join(format!("{name}.html"))))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut html_files: Vec<PathBuf> = std::fs::read_dir(html_dir)
        .unwrap_or_else(|e| panic!("cannot read {html_dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    html_files.sort();
    let html: Vec<String> = html_files.iter().map(|p| read(p)).collect();
    let mean_kb = |pages: &[String]| pages.iter().map(String::len).sum::<usize>() as f64 / pages.len() as f64 / 1024.0;
    println!(
        "corpora: drift {} pages (mean {:.1} KB), html-v1 {} pages (mean {:.1} KB); {reps} repetitions",
        drift.len(),
        mean_kb(&drift),
        html.len(),
        mean_kb(&html)
    );
    // corpus -> candidate -> the median ms/page of each repetition
    let mut results: BTreeMap<(&str, Candidate), Vec<f64>> = BTreeMap::new();
    let mut totals: BTreeMap<(&str, Candidate), Vec<f64>> = BTreeMap::new();
    for rep in 0..reps {
        for (corpus, pages) in [("drift", &drift), ("html-v1", &html)] {
            // Rotate the order so no candidate always runs first (cold caches) or last.
            for k in 0..TIMED.len() {
                let candidate = TIMED[(k + rep) % TIMED.len()];
                let mut times = Vec::with_capacity(pages.len());
                let mut errors = 0usize;
                let started = Instant::now();
                for page in pages.iter() {
                    let t = Instant::now();
                    let text = candidate.extract(page);
                    times.push(t.elapsed());
                    if black_box(text).is_err() {
                        errors += 1;
                    }
                }
                let total = started.elapsed();
                let m = ms(median(&mut times));
                eprintln!("rep {} {corpus:8} {:24} median {m:8.3} ms/page, total {:7.2} s, {errors} errors", rep + 1, candidate.name(), total.as_secs_f64());
                results.entry((corpus, candidate)).or_default().push(m);
                totals.entry((corpus, candidate)).or_default().push(total.as_secs_f64());
            }
        }
    }
    println!("corpus\tcandidate\tmedian_ms_per_page\trep_medians_ms\tratio_to_dom_smoothie\tmean_ms_per_page");
    for corpus in ["drift", "html-v1"] {
        let med = |c: Candidate| {
            let mut v = results[&(corpus, c)].clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let reference = med(Candidate::DomSmoothie);
        let n = if corpus == "drift" { drift.len() } else { html.len() };
        for c in TIMED {
            let reps_shown: Vec<String> = results[&(corpus, c)].iter().map(|m| format!("{m:.3}")).collect();
            let mut tot = totals[&(corpus, c)].clone();
            tot.sort_by(f64::total_cmp);
            println!(
                "{corpus}\t{}\t{:.3}\t{}\t{:.2}\t{:.3}",
                c.name(),
                med(c),
                reps_shown.join(" "),
                med(c) / reference,
                tot[tot.len() / 2] * 1e3 / n as f64
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["quality", dir] => quality(dir, None),
        ["quality", dir, out] => quality(dir, Some(out)),
        ["html-check", dir] => html_check(dir, None),
        ["html-check", dir, out] => html_check(dir, Some(out)),
        ["timing", drift, html] => timing(drift, html, 3),
        ["timing", drift, html, reps] => timing(drift, html, reps.parse().expect("a number")),
        _ => {
            eprintln!("usage: extractors quality DRIFT_DIR [OUT_DIR] | html-check HTML_DIR [OUT_DIR] | timing DRIFT_DIR HTML_DIR [REPS]");
            std::process::exit(2);
        }
    }
}
