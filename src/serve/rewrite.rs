//! Replayed HTML: links and resources that point to other archived URLs are pointed back into the
//! archive (`/web/<this capture's timestamp>/<URL>`), streamed through lol_html, which leaves every
//! byte it does not rewrite exactly as it was. Links to URLs the archive does not hold stay as
//! they are, so a page without archived links replays byte for byte. Raw (`id_`) replays stream
//! from here too: both read the payload on the blocking pool.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use lol_html::html_content::Element;
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, Settings, element};
use tokio::sync::mpsc;
use url::Url;

use super::catalog::Catalog;
use crate::payload::Payload;

/// Bytes read from the payload at a time; the first read is also the head the encoding is
/// detected from.
const READ_CHUNK: usize = 64 * 1024;

/// Elements and the attribute of each that holds one URL.
const URL_ATTRIBUTES: &[(&str, &str)] = &[
    ("a[href]", "href"),
    ("area[href]", "href"),
    ("link[href]", "href"),
    ("img[src]", "src"),
    ("script[src]", "src"),
    ("iframe[src]", "src"),
    ("frame[src]", "src"),
    ("form[action]", "action"),
    ("source[src]", "src"),
    ("video[src]", "src"),
    ("audio[src]", "src"),
    ("embed[src]", "src"),
];

/// Elements whose `srcset` holds a list of URLs.
const SRCSET_ELEMENTS: &[&str] = &["img[srcset]", "source[srcset]"];

/// The capture being replayed.
#[derive(Debug, Clone)]
pub struct Page {
    /// The archive, to tell archived URLs from others.
    pub catalog: Arc<Catalog>,
    /// The URL the capture was served from, which relative links resolve against.
    pub base: Url,
    /// The capture's timestamp, which rewritten links carry.
    pub timestamp: String,
}

/// The payload as a streaming body, untouched. Read on the blocking pool and handed over a small
/// channel, one chunk behind: the last chunk is sent only once the payload has proven whole
/// (its size and SHA-256), so a client never receives all the `Content-Length` bytes of a damaged
/// payload, only a response cut short.
pub fn raw_body(payload: Payload) -> Body {
    streamed(payload, "raw replay", |mut payload, tx| {
        let mut held: Option<Vec<u8>> = None;
        loop {
            let mut chunk = vec![0; READ_CHUNK];
            let n = read_full(&mut payload, &mut chunk)?;
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            if let Some(previous) = held.replace(chunk) {
                send(tx, previous)?;
            }
        }
        held.map_or(Ok(()), |last| send(tx, last))
    })
}

/// The rewritten page as a streaming body. The rewriting runs on the blocking pool (lol_html is
/// synchronous) and hands chunks over a small channel, so memory stays flat whatever the size of
/// the page, and a client that goes away stops the work. A payload that fails its check ends the
/// body with an error, so the response is cut short rather than completed.
pub fn html_body(payload: Payload, content_type: Option<String>, page: Page) -> Body {
    let what = format!("replay of {}", page.base);
    streamed(payload, &what, move |payload, tx| {
        pump(payload, content_type.as_deref(), &page, tx)
    })
}

/// A body whose chunks `produce` sends from the blocking pool.
fn streamed(
    payload: Payload,
    what: &str,
    produce: impl FnOnce(Payload, &mpsc::Sender<std::io::Result<Bytes>>) -> std::io::Result<()> + Send + 'static,
) -> Body {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let what = what.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = produce(payload, &tx) {
            // A closed channel means the client left: nothing to report to anyone.
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::warn!("serve: {what} stopped: {e}");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

fn send(tx: &mpsc::Sender<std::io::Result<Bytes>>, bytes: Vec<u8>) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    tx.blocking_send(Ok(Bytes::from(bytes)))
        .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
}

/// Reads `payload` into the rewriter and the rewriter's output into `tx`.
fn pump(
    mut file: impl Read,
    content_type: Option<&str>,
    page: &Page,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<()> {
    let mut chunk = vec![0; READ_CHUNK];
    let head = read_full(&mut file, &mut chunk)?;
    let (encoding, _bom) = crate::title::html_encoding(content_type, &chunk[..head]);
    let Some(encoding) = AsciiCompatibleEncoding::new(encoding) else {
        // lol_html cannot parse UTF-16 and friends: replay such a page as stored.
        send(tx, chunk[..head].to_vec())?;
        return copy_rest(&mut file, &mut chunk, tx);
    };

    let output = RefCell::new(Vec::new());
    let base = RefCell::new(page.base.clone());
    let base_seen = Cell::new(false);
    let rewrite_one = |el: &mut Element, attribute: &str| -> lol_html::HandlerResult {
        let Some(value) = el.get_attribute(attribute) else {
            return Ok(());
        };
        if let Some(new) = rewrite_url(&value, &base.borrow(), page) {
            el.set_attribute(attribute, &new)?;
        }
        Ok(())
    };
    let mut handlers = vec![element!("base[href]", |el| {
        // Only the first <base href> counts, as in a browser.
        if !base_seen.replace(true) {
            let href = crate::markup::decode_entities(&el.get_attribute("href").unwrap_or_default());
            if let Ok(url) = page.base.join(href.trim()) {
                *base.borrow_mut() = url;
            }
        }
        Ok(())
    })];
    for &(selector, attribute) in URL_ATTRIBUTES {
        handlers.push(element!(selector, move |el| rewrite_one(el, attribute)));
    }
    for &selector in SRCSET_ELEMENTS {
        handlers.push(element!(selector, |el| {
            let Some(value) = el.get_attribute("srcset") else {
                return Ok(());
            };
            if let Some(new) = rewrite_srcset(&value, &base.borrow(), page) {
                el.set_attribute("srcset", &new)?;
            }
            Ok(())
        }));
    }
    let settings = handlers
        .into_iter()
        .fold(Settings::new(), Settings::append_element_content_handler)
        .with_encoding(encoding)
        // Not strict: a page that confuses the parser is replayed with fewer links rewritten rather
        // than cut off.
        .with_strict(false);
    let mut rewriter = HtmlRewriter::new(settings, |bytes: &[u8]| output.borrow_mut().extend_from_slice(bytes));

    let mut n = head;
    while n > 0 {
        rewriter.write(&chunk[..n]).map_err(std::io::Error::other)?;
        send(tx, output.take())?;
        n = file.read(&mut chunk)?;
    }
    rewriter.end().map_err(std::io::Error::other)?;
    send(tx, output.take())
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn copy_rest(file: &mut impl Read, chunk: &mut [u8], tx: &mpsc::Sender<std::io::Result<Bytes>>) -> std::io::Result<()> {
    loop {
        match file.read(chunk)? {
            0 => return Ok(()),
            n => send(tx, chunk[..n].to_vec())?,
        }
    }
}

/// The attribute value that points `value` (as found in the page, entities and all) into the
/// archive, or `None` when it names no archived URL.
fn rewrite_url(value: &str, base: &Url, page: &Page) -> Option<String> {
    let mut url = base.join(crate::markup::decode_entities(value).trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let fragment = url.fragment().map(str::to_owned);
    url.set_fragment(None);
    let archived = page.catalog.archived(url.as_str())?;
    let mut new = format!("/web/{}/{archived}", page.timestamp);
    if let Some(fragment) = fragment {
        new.push('#');
        new.push_str(&fragment);
    }
    // lol_html escapes quotes in values it writes, but not ampersands.
    Some(new.replace('&', "&amp;"))
}

/// A `srcset` with every archived candidate URL rewritten, or `None` when none is archived.
fn rewrite_srcset(value: &str, base: &Url, page: &Page) -> Option<String> {
    let mut changed = false;
    let candidates: Vec<String> = value
        .split(',')
        .map(|candidate| {
            let trimmed = candidate.trim_start();
            let lead = &candidate[..candidate.len() - trimmed.len()];
            let url_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
            let (url, descriptor) = trimmed.split_at(url_end);
            match rewrite_url(url, base, page) {
                Some(new) => {
                    changed = true;
                    format!("{lead}{new}{descriptor}")
                }
                None => candidate.to_owned(),
            }
        })
        .collect();
    changed.then(|| candidates.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn page() -> Page {
        let snapshot = |url: &str| {
            serde_json::json!({"sha256": "a".repeat(64), "size": 1, "content_type": "text/html",
                "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z",
                "http_status": 200, "final_url": url, "etag": null, "last_modified": null,
                "title": null, "object": "x", "run": "r"})
        };
        let mut manifest = Manifest::new();
        for (id, url) in [
            ("b", "http://site.example/b.html"),
            ("q", "http://site.example/q?x=1&y=2"),
            ("img", "http://cdn.example/i.png"),
        ] {
            let entry = serde_json::json!({"url": url, "snapshots": [snapshot(url)]});
            manifest.links.insert(id.into(), serde_json::from_value(entry).unwrap());
        }
        Page {
            catalog: Arc::new(Catalog::new(manifest, None)),
            base: Url::parse("http://site.example/dir/a.html").unwrap(),
            timestamp: "20200101000000".into(),
        }
    }

    fn rewrite(html: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page");
        std::fs::write(&path, html).unwrap();
        let (tx, mut rx) = mpsc::channel(1024);
        pump(std::fs::File::open(&path).unwrap(), Some("text/html"), &page(), &tx).unwrap();
        drop(tx);
        let mut out = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            out.extend_from_slice(&chunk.unwrap());
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn archived_links_point_into_the_archive() {
        let html = r#"<a href="../b.html#s">b</a> <A HREF='/q?x=1&amp;y=2'>q</A> <img src="http://cdn.example/i.png">"#;
        assert_eq!(
            rewrite(html),
            r#"<a href="/web/20200101000000/http://site.example/b.html#s">b</a> <A HREF="/web/20200101000000/http://site.example/q?x=1&amp;y=2">q</A> <img src="/web/20200101000000/http://cdn.example/i.png">"#
        );
    }

    #[test]
    fn other_links_stay_byte_for_byte() {
        let html = "<!doctype html><A href=elsewhere.html>x</A><a href='mailto:x@y'>m</a>\
            <img src=\"http://cdn.example/other.png\" alt='&amp;'><!-- <a href=\"/b.html\"> --><p>caf\u{e9}";
        assert_eq!(rewrite(html), html);
    }

    #[test]
    fn the_first_base_href_counts() {
        let html = r#"<base href="http://cdn.example/"><base href="http://site.example/"><a href="i.png">i</a>"#;
        assert!(
            rewrite(html).contains(r#"<a href="/web/20200101000000/http://cdn.example/i.png">"#),
            "{}",
            rewrite(html)
        );
    }

    #[test]
    fn srcset_candidates() {
        let html = r#"<img srcset="http://cdn.example/i.png 2x, other.png 1x">"#;
        assert_eq!(
            rewrite(html),
            r#"<img srcset="/web/20200101000000/http://cdn.example/i.png 2x, other.png 1x">"#
        );
    }

    /// Character references in an attribute are decoded before the URL is looked up, and
    /// written back escaped.
    #[test]
    fn entities_in_urls() {
        let html = r#"<a href="http&#58;//site&#x2e;example/q?x=1&amp;y=2">q</a> <a href="b&#46;html?a&amp;b">b?</a>"#;
        assert_eq!(
            rewrite(html),
            r#"<a href="/web/20200101000000/http://site.example/q?x=1&amp;y=2">q</a> <a href="b&#46;html?a&amp;b">b?</a>"#
        );
    }
}
