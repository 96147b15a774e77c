//! Replayed HTML: every link and resource URL of a capture is pointed into the archive
//! (`/web/<this capture's timestamp>/<URL>`), streamed through lol_html, which leaves every byte
//! it does not rewrite exactly as it was. A URL the archive holds goes to its capture (by the URL
//! as archived); any other http(s) URL goes to the same place, where the server answers with its
//! "not archived" page, so no link of a replayed page leads back to the live web.
//!
//! The rewriting runs in an async task (lol_html's `Send` rewriter), fed chunk by chunk from the
//! blocking pool ([`super::stream`]): a slow client holds no thread, only a few chunks of memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use lol_html::html_content::{ContentType, TextChunk};
use lol_html::send::{Element, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, OutputSink, element, text};
use url::Url;

use super::catalog::Catalog;
use super::stream::{BodySender, Chunks, READ_CHUNK, send, spawn_body};
use crate::payload::Payload;

/// Elements and the attribute of each that holds one URL a browser loads or navigates to.
const URL_ATTRIBUTES: &[(&str, &str)] = &[
    ("a[href]", "href"),
    ("area[href]", "href"),
    ("link[href]", "href"),
    ("img[src]", "src"),
    ("script[src]", "src"),
    ("iframe[src]", "src"),
    ("frame[src]", "src"),
    ("form[action]", "action"),
    ("button[formaction]", "formaction"),
    ("input[formaction]", "formaction"),
    ("input[src]", "src"),
    ("source[src]", "src"),
    ("video[src]", "src"),
    ("video[poster]", "poster"),
    ("audio[src]", "src"),
    ("track[src]", "src"),
    ("embed[src]", "src"),
    ("object[data]", "data"),
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

/// The rewritten page as a streaming body. A payload that fails its check ends the body with an
/// error, so the response is cut short rather than completed.
pub fn html_body(payload: Payload, content_type: Option<String>, page: Page) -> Body {
    let what = format!("replay of {}", page.base);
    spawn_body(what, move |tx| async move {
        rewrite(payload, content_type.as_deref(), page, &tx).await
    })
}

/// Rewrites a whole page held in memory, fed to the rewriter `piece` bytes at a time, as the
/// capture of `base` taken at `timestamp` in an archive whose manifest is `manifest`: the fuzz
/// target's entry into the rewriter [`html_body`] streams through.
#[doc(hidden)]
pub fn rewrite_bytes(
    html: &[u8],
    piece: usize,
    manifest: crate::manifest::Manifest,
    base: Url,
    timestamp: &str,
) -> std::io::Result<Vec<u8>> {
    let page = Page {
        catalog: Arc::new(Catalog::new(manifest, None)),
        base,
        timestamp: timestamp.to_owned(),
    };
    let (encoding, _bom) = crate::title::html_encoding(Some("text/html"), html);
    let Some(encoding) = AsciiCompatibleEncoding::new(encoding) else {
        return Ok(html.to_vec());
    };
    let mut rewriter = PageRewriter::new(page, encoding);
    let mut out = Vec::new();
    for chunk in html.chunks(piece.max(1)) {
        out.extend_from_slice(&rewriter.write(chunk)?);
    }
    out.extend_from_slice(&rewriter.end()?);
    Ok(out)
}

/// Reads `payload` through the rewriter into `tx`.
async fn rewrite(payload: Payload, content_type: Option<&str>, page: Page, tx: &BodySender) -> std::io::Result<()> {
    let mut chunks = Chunks::new(payload);
    // The first chunk is also the head the encoding is detected from.
    let head = chunks.next(READ_CHUNK).await?.unwrap_or_default();
    let (encoding, _bom) = crate::title::html_encoding(content_type, &head);
    let Some(encoding) = AsciiCompatibleEncoding::new(encoding) else {
        // lol_html cannot parse UTF-16 and friends: replay such a page as stored.
        send(tx, head).await?;
        while let Some(chunk) = chunks.next(READ_CHUNK).await? {
            send(tx, chunk).await?;
        }
        return Ok(());
    };
    let mut rewriter = PageRewriter::new(page, encoding);
    send(tx, rewriter.write(&head)?).await?;
    while let Some(chunk) = chunks.next(READ_CHUNK).await? {
        send(tx, rewriter.write(&chunk)?).await?;
    }
    send(tx, rewriter.end()?).await
}

/// lol_html set up to rewrite one page, and the output it produced so far.
struct PageRewriter {
    rewriter: HtmlRewriter<'static, Output>,
    output: Output,
}

/// Where lol_html writes the rewritten page, taken from between writes.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    /// What was written since the last take.
    fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.0.lock().expect("not poisoned")))
    }
}

impl OutputSink for Output {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.lock().expect("not poisoned").extend_from_slice(chunk);
    }
}

impl PageRewriter {
    fn new(page: Page, encoding: AsciiCompatibleEncoding) -> Self {
        let page = Arc::new(page);
        // The URL relative links resolve against: the capture's, until a `<base href>` says
        // otherwise (only the first counts, as in a browser).
        let base = Arc::new(Mutex::new(page.base.clone()));
        let base_seen = Arc::new(AtomicBool::new(false));
        let mut settings = Settings::new_send();
        settings = settings.append_element_content_handler(element!("base[href]", {
            let (page, base, base_seen) = (Arc::clone(&page), Arc::clone(&base), Arc::clone(&base_seen));
            move |el: &mut Element| {
                let Some(href) = el.get_attribute("href") else {
                    return Ok(());
                };
                if !base_seen.swap(true, Ordering::Relaxed)
                    && let Ok(url) = page.base.join(crate::markup::decode_entities(&href).trim())
                {
                    *base.lock().expect("not poisoned") = url;
                }
                // Relative URLs the rewriting does not reach (those a script builds) resolve
                // into the archive too.
                if let Some(new) = rewrite_url(&href, &page.base, &page) {
                    el.set_attribute("href", &new)?;
                }
                Ok(())
            }
        }));
        for &(selector, attribute) in URL_ATTRIBUTES {
            let (page, base) = (Arc::clone(&page), Arc::clone(&base));
            settings = settings.append_element_content_handler(element!(selector, move |el: &mut Element| {
                let Some(value) = el.get_attribute(attribute) else {
                    return Ok(());
                };
                let base = base.lock().expect("not poisoned").clone();
                if let Some(new) = rewrite_url(&value, &base, &page) {
                    el.set_attribute(attribute, &new)?;
                }
                Ok(())
            }));
        }
        for &selector in SRCSET_ELEMENTS {
            let (page, base) = (Arc::clone(&page), Arc::clone(&base));
            settings = settings.append_element_content_handler(element!(selector, move |el: &mut Element| {
                let Some(value) = el.get_attribute("srcset") else {
                    return Ok(());
                };
                let base = base.lock().expect("not poisoned").clone();
                if let Some(new) = rewrite_srcset(&value, &base, &page) {
                    el.set_attribute("srcset", &new)?;
                }
                Ok(())
            }));
        }
        // Inline CSS (issue #20): the URLs of `style` attributes and of `<style>` elements
        // (whose text lol_html hands over in pieces: gathered, then rewritten whole) point
        // into the archive, so fonts and background images load from there.
        settings = settings.append_element_content_handler(element!("[style]", {
            let (page, base) = (Arc::clone(&page), Arc::clone(&base));
            move |el: &mut Element| {
                let Some(value) = el.get_attribute("style") else {
                    return Ok(());
                };
                let declarations = crate::markup::decode_entities(&value);
                let base = base.lock().expect("not poisoned").clone();
                let new = crate::css::rewrite(&declarations, &|url| archive_path(url, &base, &page));
                if new != declarations {
                    el.set_attribute("style", &new.replace('&', "&amp;"))?;
                }
                Ok(())
            }
        }));
        settings = settings.append_element_content_handler(text!("style", {
            let (page, base) = (Arc::clone(&page), Arc::clone(&base));
            let gathered = Arc::new(Mutex::new(String::new()));
            move |chunk: &mut TextChunk| {
                let mut gathered = gathered.lock().expect("not poisoned");
                gathered.push_str(chunk.as_str());
                if !chunk.last_in_text_node() {
                    chunk.remove();
                    return Ok(());
                }
                let css = std::mem::take(&mut *gathered);
                let base = base.lock().expect("not poisoned").clone();
                let new = crate::css::rewrite(&css, &|url| archive_path(url, &base, &page));
                chunk.replace(&new, ContentType::Html);
                Ok(())
            }
        }));
        // A refresh is a navigation no Content-Security-Policy can stop.
        settings = settings.append_element_content_handler(element!("meta[http-equiv][content]", {
            let (page, base) = (Arc::clone(&page), Arc::clone(&base));
            move |el: &mut Element| {
                let is_refresh = el
                    .get_attribute("http-equiv")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
                let Some(content) = el.get_attribute("content").filter(|_| is_refresh) else {
                    return Ok(());
                };
                let base = base.lock().expect("not poisoned").clone();
                if let Some(new) = rewrite_refresh(&content, &base, &page) {
                    el.set_attribute("content", &new)?;
                }
                Ok(())
            }
        }));
        let settings = settings
            .with_encoding(encoding)
            // Not strict: a page that confuses the parser is replayed with fewer links rewritten
            // rather than cut off.
            .with_strict(false);
        let output = Output::default();
        Self {
            rewriter: HtmlRewriter::new(settings, output.clone()),
            output,
        }
    }

    /// Rewrites the next piece of the page; returns what is ready to send.
    fn write(&mut self, input: &[u8]) -> std::io::Result<Bytes> {
        self.rewriter.write(input).map_err(std::io::Error::other)?;
        Ok(self.output.take())
    }

    /// Ends the page; returns the rest of the output.
    fn end(self) -> std::io::Result<Bytes> {
        self.rewriter.end().map_err(std::io::Error::other)?;
        Ok(self.output.take())
    }
}

/// The attribute value that points `value` (as found in the page, entities and all) into the
/// archive: to the capture of the URL as archived, or to the "not archived" page of any other
/// http(s) URL. `None` for what is no web URL (`mailto:`, `javascript:`, `data:`) and for a
/// fragment of the page itself.
fn rewrite_url(value: &str, base: &Url, page: &Page) -> Option<String> {
    let decoded = crate::markup::decode_entities(value);
    // lol_html escapes quotes in values it writes, but not ampersands.
    archive_path(&decoded, base, page).map(|new| new.replace('&', "&amp;"))
}

/// Where in the archive `value` (a URL as a page or stylesheet means it, relative to `base`)
/// is replayed: `/web/<timestamp>/<URL>`, by the URL as archived when a link names it. `None`
/// for what is no web URL (`mailto:`, `javascript:`, `data:`) and for a fragment alone.
pub fn archive_path(value: &str, base: &Url, page: &Page) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.starts_with('#') {
        return None;
    }
    let mut url = base.join(trimmed).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let fragment = url.fragment().map(str::to_owned);
    url.set_fragment(None);
    let target = page.catalog.archived_url(&url).unwrap_or(url.as_str());
    let mut new = format!("/web/{}/{target}", page.timestamp);
    if let Some(fragment) = fragment {
        new.push('#');
        new.push_str(&fragment);
    }
    Some(new)
}

/// A `srcset` with every candidate URL rewritten, or `None` when none is.
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

/// A `<meta http-equiv=refresh>` content (`5; url=…`, with or without `url=` and quotes) with
/// its URL rewritten, or `None` when it names none to rewrite.
fn rewrite_refresh(content: &str, base: &Url, page: &Page) -> Option<String> {
    let split = content.find([';', ','])?;
    let (delay, rest) = (content[..split].trim(), content[split + 1..].trim_start());
    let rest = match rest.get(..3) {
        Some(key) if key.eq_ignore_ascii_case("url") => rest[3..].trim_start().strip_prefix('=')?.trim_start(),
        _ => rest,
    };
    let url = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or_default(),
        _ => rest.trim_end(),
    };
    rewrite_url(url, base, page).map(|new| format!("{delay}; url={new}"))
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

    /// The page rewritten, fed to the rewriter `piece` bytes at a time.
    fn rewrite_in_pieces(html: &str, piece: usize) -> String {
        let mut rewriter = PageRewriter::new(page(), AsciiCompatibleEncoding::new(encoding_rs::UTF_8).unwrap());
        let mut out = Vec::new();
        for chunk in html.as_bytes().chunks(piece.max(1)) {
            out.extend_from_slice(&rewriter.write(chunk).unwrap());
        }
        out.extend_from_slice(&rewriter.end().unwrap());
        String::from_utf8(out).unwrap()
    }

    fn rewrite(html: &str) -> String {
        let whole = rewrite_in_pieces(html, html.len());
        // However the page arrives in pieces, the result is the same.
        assert_eq!(rewrite_in_pieces(html, 7), whole, "in pieces of 7 bytes");
        whole
    }

    #[test]
    fn archived_links_point_into_the_archive() {
        let html = r#"<a href="../b.html#s">b</a> <A HREF='/q?x=1&amp;y=2'>q</A> <img src="http://cdn.example/i.png">"#;
        assert_eq!(
            rewrite(html),
            r#"<a href="/web/20200101000000/http://site.example/b.html#s">b</a> <A HREF="/web/20200101000000/http://site.example/q?x=1&amp;y=2">q</A> <img src="/web/20200101000000/http://cdn.example/i.png">"#
        );
    }

    /// Issue #15: a link to a URL the archive lacks leads to the server's "not archived" page,
    /// not to the live web.
    #[test]
    fn unarchived_links_point_into_the_archive_too() {
        let html = r#"<A href=elsewhere.html#x>x</A><img src="http://cdn.example/other.png" alt='&amp;'><form action="https://forms.example/post?a=1&amp;b=2"><button formaction="/send">s</button></form><video poster=//cdn.example/p.jpg><track src=t.vtt></video><object data="o.swf"></object>"#;
        assert_eq!(
            rewrite(html),
            "<A href=\"/web/20200101000000/http://site.example/dir/elsewhere.html#x\">x</A>\
             <img src=\"/web/20200101000000/http://cdn.example/other.png\" alt='&amp;'>\
             <form action=\"/web/20200101000000/https://forms.example/post?a=1&amp;b=2\">\
             <button formaction=\"/web/20200101000000/http://site.example/send\">s</button></form>\
             <video poster=\"/web/20200101000000/http://cdn.example/p.jpg\">\
             <track src=\"/web/20200101000000/http://site.example/dir/t.vtt\"></video>\
             <object data=\"/web/20200101000000/http://site.example/dir/o.swf\"></object>"
        );
    }

    /// Everything that is no URL to rewrite stays byte for byte: other schemes, fragments of the
    /// page itself, markup a re-serializer would change, comments, scripts and text.
    #[test]
    fn everything_else_stays_byte_for_byte() {
        let html = "<!doctype html><A href='mailto:x@y'>m</A><a href=\"#top\">top</a> <a href=javascript:void(0)>j</a>\
            <img src=\"data:image/png;base64,AAAA\" alt='&amp;'><!-- <a href=\"/b.html\"> --><script>var a = '<a href=\"/b.html\">';</script><p>caf\u{e9}";
        assert_eq!(rewrite(html), html);
    }

    #[test]
    fn the_first_base_href_counts_and_points_into_the_archive() {
        let html = r#"<base href="http://cdn.example/"><base href="http://site.example/"><a href="i.png">i</a>"#;
        assert_eq!(
            rewrite(html),
            r#"<base href="/web/20200101000000/http://cdn.example/"><base href="/web/20200101000000/http://site.example/"><a href="/web/20200101000000/http://cdn.example/i.png">i</a>"#
        );
    }

    #[test]
    fn srcset_candidates() {
        let html = r#"<img srcset="http://cdn.example/i.png 2x, data:x 3x,other.png 1x">"#;
        assert_eq!(
            rewrite(html),
            r#"<img srcset="/web/20200101000000/http://cdn.example/i.png 2x, data:x 3x,/web/20200101000000/http://site.example/dir/other.png 1x">"#
        );
    }

    #[test]
    fn meta_refresh_stays_in_the_archive() {
        for (content, expected) in [
            (
                "0; url=http://live.example/",
                "0; url=/web/20200101000000/http://live.example/",
            ),
            (
                "5;URL='../b.html'",
                "5; url=/web/20200101000000/http://site.example/b.html",
            ),
            (
                "1, http://live.example/x",
                "1; url=/web/20200101000000/http://live.example/x",
            ),
        ] {
            let html = format!(r#"<meta http-equiv="Refresh" content="{content}">"#);
            assert_eq!(
                rewrite(&html),
                format!(r#"<meta http-equiv="Refresh" content="{expected}">"#),
                "{content}"
            );
        }
        // No URL: a reload of the page itself, left alone; other http-equiv values too.
        for html in [
            r#"<meta http-equiv="refresh" content="30">"#,
            r#"<meta http-equiv="content-type" content="text/html; url=x">"#,
        ] {
            assert_eq!(rewrite(html), html);
        }
    }

    /// Issue #20: `<style>` and `style` attributes load fonts and images from the archive.
    #[test]
    fn inline_css_points_into_the_archive() {
        let html = "<style>@import '/print.css'; body { background: url(bg.png) }\n\
                    @font-face { src: url(\"http://cdn.example/f.woff2\") }</style>\
                    <p style=\"background-image: url(&quot;p.png&quot;); color: red\">x</p>\
                    <p style=\"color: red\">unchanged</p>";
        assert_eq!(
            rewrite(html),
            "<style>@import \"/web/20200101000000/http://site.example/print.css\"; \
             body { background: url(\"/web/20200101000000/http://site.example/dir/bg.png\") }\n\
             @font-face { src: url(\"/web/20200101000000/http://cdn.example/f.woff2\") }</style>\
             <p style=\"background-image: url(&quot;/web/20200101000000/http://site.example/dir/p.png&quot;); color: red\">x</p>\
             <p style=\"color: red\">unchanged</p>"
        );
    }

    /// Character references in an attribute are decoded before the URL is looked up, and
    /// written back escaped.
    #[test]
    fn entities_in_urls() {
        let html = r#"<a href="http&#58;//site&#x2e;example/q?x=1&amp;y=2">q</a> <a href="b&#46;html?a&amp;b">b?</a>"#;
        assert_eq!(
            rewrite(html),
            r#"<a href="/web/20200101000000/http://site.example/q?x=1&amp;y=2">q</a> <a href="/web/20200101000000/http://site.example/dir/b.html?a&amp;b">b?</a>"#
        );
    }
}
