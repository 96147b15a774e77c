//! Soft-404s (issue #14): pages that are gone though the site answers 200. Two rules, each
//! explained in the link's `error`:
//!
//! - **Sent home.** A deep link (a path other than `/`, or a query) redirected to the site's
//!   home page (`/`, `/en/`, `/index.html`) or to a path that names a not-found page
//!   (`/404.html`, `/not-found?from=…`).
//! - **Answers like a random path.** Once per host and directory per run, a random path beside
//!   the cited one is requested (the probe). When the site answers it with 200 and the cited
//!   URL's answer ends at the same URL, or has near-identical main text, the cited page is
//!   what the site says for pages it does not have.
//!
//! Probes go through the one fetch engine (politeness, `--per-host`, retries), are cached for
//! the run, never archived, and `--no-soft-404` turns them off. Titles that read like a
//! not-found or parked page are only ever a warning ([`title_warning`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::sync::OnceCell;
use url::Url;

use crate::fetch::download::{self, BodyLimits};
use crate::fetch::{BodyError, Fetcher};
use crate::links::Link;
use crate::outcome::{LinkResult, Outcome, RedirectHop};
use crate::text::{self, Sample};

/// The start of every probe's file name, so that a site's logs show what it was.
pub const PROBE_PREFIX: &str = "linkkeep-probe-";

/// Main texts at least this similar (word-level, see [`text::compare`]) are the same page.
const SAME_PAGE_SIMILARITY: f64 = 0.9;
/// Fewer words than this on both sides prove nothing: an empty shell filled in by script
/// looks the same at every path.
const MIN_WORDS: usize = 3;

/// Paths that name a not-found page.
static NOT_FOUND_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[/_.=?&-])(404|not[-_]?found|page[-_]?not[-_]?found|error[-_]?404|missing|gone)([/_.=?&-]|$)")
        .expect("a valid pattern")
});

/// Titles of not-found and parked pages.
static SUSPICIOUS_TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(404|page not found|not found|no longer available|(page|article) (does not|doesn't) exist|domain (is )?for sale|buy this domain|parked (free|domain|by)|this domain (may be|is) for sale)\b",
    )
    .expect("a valid pattern")
});

/// Soft-404 detection for one run: its probes, each sent once.
#[derive(Debug)]
pub struct Soft404 {
    probes: bool,
    cache: Mutex<HashMap<String, Arc<OnceCell<Arc<Probe>>>>>,
}

/// How a site answered a random path.
#[derive(Debug)]
enum Probe {
    /// With an error, or not at all: the site tells missing pages apart.
    Refused,
    /// With a page (status 2xx).
    Answered {
        /// The random path requested.
        url: Url,
        /// Where it ended, after redirects.
        final_url: Url,
        /// Its main text, for HTML and PDF.
        text: Option<String>,
    },
}

impl Soft404 {
    /// Detection with sibling probes (`probes`), or with the redirect rule alone.
    pub fn new(probes: bool) -> Self {
        Self {
            probes,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Why the page `requested` answered ok at `final_url` after `redirects` is a soft-404, or
    /// `None` when it is not one. `page_text` gives the page's main text; it is only called
    /// when a probe needs it to decide.
    pub async fn judge(
        &self,
        fetcher: &Fetcher,
        requested: &Url,
        final_url: &Url,
        redirects: &[RedirectHop],
        page_text: impl AsyncFnOnce() -> Option<String>,
    ) -> Option<String> {
        if let Some(why) = sent_home(requested, final_url, !redirects.is_empty()) {
            return Some(why);
        }
        if !self.probes || !is_deep(requested) {
            return None;
        }
        let probe = self.probe(fetcher, requested).await;
        let Probe::Answered {
            url,
            final_url: probe_final,
            text: probe_text,
        } = &*probe
        else {
            return None;
        };
        if !redirects.is_empty() && probe_final == final_url {
            return Some(format!(
                "the site sends a random path beside it ({url}) to the same page, {final_url}: the cited page is gone"
            ));
        }
        let probe_text = probe_text.as_deref()?;
        let text = page_text().await?;
        same_page(requested, &text, url, probe_text).then(|| {
            format!(
                "the site answers a random path beside it ({url}) with the same page and HTTP 200: the cited page is gone"
            )
        })
    }

    /// Turns an ok `result` of `link` into `soft_404` when [`Soft404::judge`] says the page
    /// is gone. `page_text` gets the final URL.
    pub async fn judge_result(
        &self,
        fetcher: &Fetcher,
        link: &Link,
        result: &mut LinkResult,
        page_text: impl AsyncFnOnce(Url) -> Option<String>,
    ) {
        // A 304 says the page is what was archived; only a page served whole can be a soft-404.
        let served = result.http_status.is_some_and(|s| (200..300).contains(&s));
        if result.outcome != Outcome::Ok || !served {
            return;
        }
        let Ok(final_url) = Url::parse(result_final_url(link, result)) else {
            return;
        };
        let page_text = async || page_text(final_url.clone()).await;
        let why = self
            .judge(fetcher, &link.parsed, &final_url, &result.redirects, page_text)
            .await;
        if let Some(why) = why {
            result.outcome = Outcome::Soft404;
            result.error = Some(why);
        }
    }

    /// The probe of `url`'s directory: sent by the first link that needs it, awaited by the
    /// others.
    async fn probe(&self, fetcher: &Fetcher, url: &Url) -> Arc<Probe> {
        let Some((key, probe_url)) = probe_url(url) else {
            return Arc::new(Probe::Refused);
        };
        let cell = {
            let mut cache = self.cache.lock().expect("no panics while the lock is held");
            Arc::clone(cache.entry(key).or_default())
        };
        let probe = cell
            .get_or_init(|| async {
                tracing::debug!(url = %probe_url, "soft-404 probe");
                let probe = match fetch_text(fetcher, &probe_url).await {
                    Some((final_url, text)) => Probe::Answered {
                        url: probe_url,
                        final_url,
                        text,
                    },
                    None => Probe::Refused,
                };
                Arc::new(probe)
            })
            .await;
        Arc::clone(probe)
    }
}

/// The URL a result ended at.
fn result_final_url<'a>(link: &'a Link, result: &'a LinkResult) -> &'a str {
    result.final_url.as_deref().unwrap_or(&link.url)
}

/// Fetches `url` for its main text (at most [`text::MAX_HTML`] bytes of body, nothing
/// stored): where it ended and its text, or `None` unless it answered with a 2xx status.
pub async fn fetch_text(fetcher: &Fetcher, url: &Url) -> Option<(Url, Option<String>)> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(download::ACCEPT_ENCODING));
    let fetched = fetcher
        .fetch(url, &headers, |response, deadline| async move {
            let limits = fetcher.body_limits(response.url());
            let limits = BodyLimits {
                max_size: limits.max_size.min(text::MAX_HTML as u64),
                ..limits
            };
            let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let mut sample = Sample::new(content_type);
            match download::download(response, deadline, limits, &mut sample, None).await? {
                Ok(()) => Ok(sample),
                Err(e) => Err(BodyError::Network(e.to_string())),
            }
        })
        .await;
    let success = fetched.http_status.is_some_and(|s| s.is_success());
    if fetched.outcome != Outcome::Ok || !success {
        return None;
    }
    let sample = fetched.body?;
    let text = match sample.into_payload() {
        Some((content_type, bytes)) => {
            tokio::task::spawn_blocking(move || text::main_text(content_type.as_deref(), &bytes))
                .await
                .ok()
                .flatten()
        }
        None => None,
    };
    Some((fetched.final_url, text))
}

/// A warning when a page's title reads like a not-found or parked page. Never a failure by
/// itself: "404" is also the title of articles about HTTP.
pub fn title_warning(id: &str, title: &str) -> Option<String> {
    SUSPICIOUS_TITLE
        .is_match(title)
        .then(|| format!("{id}: its title {title:?} reads like a missing or parked page; check it by hand"))
}

/// The redirect rule: a deep link sent to the site's home page or to a not-found path.
fn sent_home(requested: &Url, final_url: &Url, redirected: bool) -> Option<String> {
    if !redirected || !is_deep(requested) {
        return None;
    }
    if is_home(final_url) {
        return Some(format!(
            "redirected to the site's home page {final_url}: the cited page is gone"
        ));
    }
    let names_not_found =
        |url: &Url| NOT_FOUND_PATH.is_match(url.path()) || url.query().is_some_and(|q| NOT_FOUND_PATH.is_match(q));
    (names_not_found(final_url) && !names_not_found(requested))
        .then(|| format!("redirected to a not-found page, {final_url}"))
}

/// Whether `url` is more than a site's home page: a path other than the root, or a query.
fn is_deep(url: &Url) -> bool {
    url.query().is_some() || !is_home(url)
}

/// Whether `url`'s path is a home page: `/`, a language's root (`/en/`, `/fr-ch`), or an index
/// page in either.
fn is_home(url: &Url) -> bool {
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    let is_language = |s: &str| {
        let s = s.to_ascii_lowercase();
        let (lang, region) = s.split_once(['-', '_']).unwrap_or((&s, "ab"));
        lang.len() == 2
            && region.len() == 2
            && lang.bytes().all(|b| b.is_ascii_lowercase())
            && region.bytes().all(|b| b.is_ascii_lowercase())
    };
    let is_index = |s: &str| {
        let stem = s.split('.').next().unwrap_or(s).to_ascii_lowercase();
        matches!(stem.as_str(), "index" | "default" | "home")
    };
    match segments.as_slice() {
        [] => true,
        [one] => is_language(one) || is_index(one),
        [language, index] => is_language(language) && is_index(index),
        _ => false,
    }
}

/// The cache key (scheme, host, port and directory) and a random path in `url`'s directory,
/// with the cited file's extension so that the site routes it the same way.
fn probe_url(url: &Url) -> Option<(String, Url)> {
    let path = url.path();
    let (directory, file) = path.rsplit_once('/')?;
    let extension = file
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.len() <= 5 && ext.bytes().all(|b| b.is_ascii_alphanumeric()));
    let name: String = (0..12).map(|_| fastrand::alphanumeric().to_ascii_lowercase()).collect();
    let file = match extension {
        Some(ext) => format!("{PROBE_PREFIX}{name}.{ext}"),
        None => format!("{PROBE_PREFIX}{name}"),
    };
    let mut probe = url.clone();
    probe.set_query(None);
    probe.set_fragment(None);
    probe.set_path(&format!("{directory}/{file}"));
    let key = format!(
        "{}://{}:{}{directory}/",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    );
    Some((key, probe))
}

/// Whether two pages' main texts are the same page: near-identical once the words that name
/// each page's own URL (a not-found page often repeats the path asked for) are left out.
fn same_page(url: &Url, text: &str, probe_url: &Url, probe_text: &str) -> bool {
    let without_own_name = |url: &Url, text: &str| -> String {
        let file = url.path().rsplit('/').next().unwrap_or_default();
        let stem = file.split('.').next().unwrap_or_default();
        text.split_whitespace()
            .filter(|word| stem.len() < 4 || !word.contains(stem))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (page, probe) = (without_own_name(url, text), without_own_name(probe_url, probe_text));
    if page.split_whitespace().count() < MIN_WORDS || probe.split_whitespace().count() < MIN_WORDS {
        return false;
    }
    let comparison = text::compare(&probe, &page);
    comparison.cosmetic || comparison.similarity >= SAME_PAGE_SIMILARITY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn home_pages() {
        for home in [
            "https://e.org/",
            "https://e.org/en/",
            "https://e.org/fr-ch",
            "https://e.org/index.html",
            "https://e.org/en/index.php",
            "https://e.org/home",
        ] {
            assert!(is_home(&url(home)), "{home}");
        }
        for deep in [
            "https://e.org/news/",
            "https://e.org/en/news/1",
            "https://e.org/report.pdf",
            "https://e.org/eng/",
        ] {
            assert!(!is_home(&url(deep)), "{deep}");
        }
        assert!(is_deep(&url("https://e.org/?p=123")), "a query is a page");
        assert!(!is_deep(&url("https://e.org/")));
    }

    #[test]
    fn deep_links_sent_home_or_to_a_not_found_path_are_gone() {
        let deep = url("https://e.org/news/2018/wgec.html");
        assert!(
            sent_home(&deep, &url("https://www.e.org/"), true)
                .unwrap()
                .contains("home page")
        );
        assert!(
            sent_home(&deep, &url("https://e.org/404.html"), true)
                .unwrap()
                .contains("not-found page")
        );
        assert!(sent_home(&deep, &url("https://e.org/page-not-found?from=x"), true).is_some());
        assert!(sent_home(&deep, &url("https://e.org/errors?code=404"), true).is_some());
        // Not redirected, a root that was cited as a root, an ordinary move: not gone.
        assert!(sent_home(&deep, &url("https://e.org/"), false).is_none());
        assert!(sent_home(&url("http://e.org/"), &url("https://e.org/"), true).is_none());
        assert!(sent_home(&deep, &url("https://e.org/news/2018/wgec-report.html"), true).is_none());
        // A cited URL that already named a not-found page is what it was.
        let cited = url("https://e.org/docs/404-errors");
        assert!(sent_home(&cited, &url("https://e.org/docs/http/404-errors"), true).is_none());
    }

    #[test]
    fn probes_sit_beside_the_cited_page() {
        let (key, probe) = probe_url(&url("https://e.org:8443/news/2018/wgec.html?x=1#top")).unwrap();
        assert_eq!(key, "https://e.org:8443/news/2018/");
        assert!(probe.path().starts_with("/news/2018/linkkeep-probe-"), "{probe}");
        assert!(probe.path().ends_with(".html"));
        assert_eq!(probe.query(), None);
        assert_eq!(probe.fragment(), None);
        let (key, probe) = probe_url(&url("http://e.org/a/b/")).unwrap();
        assert_eq!(key, "http://e.org:80/a/b/");
        assert!(!probe.path().contains('.'), "{probe}");
    }

    #[test]
    fn not_found_pages_that_echo_the_path_are_the_same_page() {
        let cited = url("https://e.org/news/wgec-report.html");
        let probe = url("https://e.org/news/linkkeep-probe-abc123def456.html");
        let text = "Page not found. Sorry, /news/wgec-report.html does not exist on this site.";
        let probe_text = "Page not found. Sorry, /news/linkkeep-probe-abc123def456.html does not exist on this site.";
        assert!(same_page(&cited, text, &probe, probe_text));
        let article = "The working group met in Geneva and agreed on recommendations for the commission.";
        assert!(!same_page(&cited, article, &probe, probe_text));
        // Empty shells filled in by script prove nothing.
        assert!(!same_page(&cited, "Loading", &probe, "Loading"));
    }

    #[test]
    fn suspicious_titles_warn() {
        assert!(title_warning("x", "Page Not Found | Example").is_some());
        assert!(title_warning("x", "example.org is for sale").is_none());
        assert!(title_warning("x", "This domain is for sale!").is_some());
        assert!(title_warning("x", "Enhanced cooperation report").is_none());
        let escaped = title_warning("x", "404 \u{1b}[31m").unwrap();
        assert!(!escaped.contains('\u{1b}'), "{escaped}");
    }
}
