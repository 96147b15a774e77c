//! What a page needs to display: the URLs of its stylesheets, images, fonts, scripts and frames,
//! read from its HTML (elements and attributes a browser loads, inline `<style>` and `style=""`)
//! and from its stylesheets (`@import`, `url()`, `image-set()`), as `wget --page-requisites`
//! finds them. Links a reader follows (`<a href>`) are not requisites.

use scraper::{Html, Selector};
use url::Url;

/// What a requisite is to its page: it decides whether its own body is read for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A stylesheet: read for its `@import`s and `url()`s.
    Stylesheet,
    /// A frame's document: read for its own requisites, but not for further frames.
    Frame,
    /// A script.
    Script,
    /// An image, a font, or anything else a page or stylesheet loads.
    Other,
}

/// A requisite found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The absolute URL, without its fragment.
    pub url: Url,
    pub kind: Kind,
}

/// Elements (and the attribute of each) whose single URL a browser loads to show the page.
const LOADED: &[(&str, &str, Kind)] = &[
    ("img[src]", "src", Kind::Other),
    ("input[type=image][src]", "src", Kind::Other),
    ("video[poster]", "poster", Kind::Other),
    ("script[src]", "src", Kind::Script),
    ("iframe[src]", "src", Kind::Frame),
    ("frame[src]", "src", Kind::Frame),
    ("body[background]", "background", Kind::Other),
    (
        "table[background], td[background], th[background]",
        "background",
        Kind::Other,
    ),
];

/// Elements whose `srcset` lists image candidates.
const SRCSET: &str = "img[srcset], picture source[srcset]";

/// The requisites of an HTML document served from `page`, in document order, each once.
/// `frames`: whether frames count (a frame's own frames do not: one level deep).
pub fn html(page: &Url, bytes: &[u8], content_type: Option<&str>, frames: bool) -> Vec<Found> {
    let (encoding, bom) = crate::title::html_encoding(content_type, bytes);
    let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
    let document = Html::parse_document(&text);
    let select = |selector: &str| Selector::parse(selector).expect("a valid selector");
    // `<base href>` moves every relative URL of the page (the first one counts, as in browsers).
    let base = document
        .select(&select("base[href]"))
        .next()
        .and_then(|base| page.join(base.value().attr("href")?.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let mut found = Found::list();
    let mut add = |raw: &str, kind: Kind| {
        if let Some(url) = absolute(&base, raw) {
            found.push(url, kind);
        }
    };
    for link in document.select(&select("link[href]")) {
        let element = link.value();
        let rel = element.attr("rel").unwrap_or_default().to_ascii_lowercase();
        let rel: Vec<&str> = rel.split_ascii_whitespace().collect();
        let kind = if rel.contains(&"stylesheet") && !rel.contains(&"alternate") {
            Some(Kind::Stylesheet)
        } else if rel
            .iter()
            .any(|r| matches!(*r, "icon" | "apple-touch-icon" | "mask-icon"))
        {
            Some(Kind::Other)
        } else if rel.contains(&"modulepreload") {
            Some(Kind::Script)
        } else if rel.contains(&"preload") {
            match element.attr("as").map(str::to_ascii_lowercase).as_deref() {
                Some("style") => Some(Kind::Stylesheet),
                Some("script") => Some(Kind::Script),
                Some("font" | "image") => Some(Kind::Other),
                _ => None,
            }
        } else {
            None
        };
        if let (Some(kind), Some(href)) = (kind, element.attr("href")) {
            add(href, kind);
        }
    }
    for (selector, attribute, kind) in LOADED {
        if *kind == Kind::Frame && !frames {
            continue;
        }
        for element in document.select(&select(selector)) {
            if let Some(value) = element.value().attr(attribute) {
                add(value, *kind);
            }
        }
    }
    for element in document.select(&select(SRCSET)) {
        for candidate in srcset_urls(element.value().attr("srcset").unwrap_or_default()) {
            add(candidate, Kind::Other);
        }
    }
    // Inline CSS: `<style>` elements and `style` attributes, relative to the page's base.
    for style in document.select(&select("style")) {
        for (url, kind) in css_urls(&style.text().collect::<String>()) {
            add(&url, kind);
        }
    }
    for element in document.select(&select("[style]")) {
        for (url, kind) in css_urls(element.value().attr("style").unwrap_or_default()) {
            add(&url, kind);
        }
    }
    found.items
}

/// The requisites of a stylesheet served from `sheet`: its `@import`s (stylesheets) and every
/// other `url()` (fonts, images), each once.
pub fn css(sheet: &Url, bytes: &[u8]) -> Vec<Found> {
    // CSS is UTF-8 unless it says otherwise; a stylesheet in another charset still has ASCII
    // URLs, which a lossy read keeps.
    let text = String::from_utf8_lossy(bytes);
    let mut found = Found::list();
    for (raw, kind) in css_urls(&text) {
        if let Some(url) = absolute(sheet, &raw) {
            found.push(url, kind);
        }
    }
    found.items
}

/// The URLs a stylesheet (or a `style` attribute) refers to, as written, with `Stylesheet` for
/// those of `@import` rules ([`crate::css`]: the reading `serve` rewrites them by).
pub fn css_urls(text: &str) -> Vec<(String, Kind)> {
    crate::css::urls(text)
        .into_iter()
        .map(|found| {
            let kind = match found.purpose {
                crate::css::Use::Import => Kind::Stylesheet,
                crate::css::Use::Load => Kind::Other,
            };
            (found.url, kind)
        })
        .collect()
}

/// The candidate URLs of a `srcset` (`a.png 1x, b.png 2x`).
fn srcset_urls(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .filter_map(|candidate| candidate.split_ascii_whitespace().next())
}

/// `raw` made absolute against `base`, if it is an http(s) URL (not `data:`, not empty, not a
/// fragment of the page itself), without its fragment.
fn absolute(base: &Url, raw: &str) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.starts_with('#') {
        return None;
    }
    let mut url = base.join(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

/// Found requisites in order, each URL once (the first kind found wins, except that a
/// stylesheet is read as one however else it was named).
struct FoundList {
    items: Vec<Found>,
}

impl Found {
    fn list() -> FoundList {
        FoundList { items: Vec::new() }
    }
}

impl FoundList {
    fn push(&mut self, url: Url, kind: Kind) {
        match self.items.iter_mut().find(|f| f.url == url) {
            Some(found) if kind == Kind::Stylesheet => found.kind = kind,
            Some(_) => {}
            None => self.items.push(Found { url, kind }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(found: &[Found]) -> Vec<(String, Kind)> {
        found.iter().map(|f| (f.url.to_string(), f.kind)).collect()
    }

    #[test]
    fn a_page_names_its_stylesheets_images_scripts_and_frames_and_not_its_links() {
        let page = Url::parse("http://site.example/dir/page.html").unwrap();
        let html = br#"<!doctype html><html><head>
            <link rel="stylesheet" href="css/main.css">
            <link rel="alternate stylesheet" href="alt.css">
            <link rel="icon" href="/favicon.ico">
            <link rel="preload" as="font" href="https://cdn.example/f.woff2">
            <link rel="canonical" href="/canonical">
            <script src="app.js#x"></script>
            <style>body { background: url('/bg.png') } @import "print.css";</style>
            </head><body>
            <a href="other.html">a link</a>
            <img src="a.png" srcset="a-2x.png 2x, https://cdn.example/a-3x.png 3x">
            <picture><source srcset="b.webp"><img src="b.png"></picture>
            <div style="background-image: url(&quot;div.png&quot;)"></div>
            <img src="data:image/png;base64,AAAA"><img src="mailto:x@y">
            <iframe src="frame.html"></iframe>
            <img src="a.png">
            </body></html>"#;
        let found = urls(&html_of(&page, html, true));
        let expected = [
            ("http://site.example/dir/css/main.css", Kind::Stylesheet),
            ("http://site.example/favicon.ico", Kind::Other),
            ("https://cdn.example/f.woff2", Kind::Other),
            ("http://site.example/dir/a.png", Kind::Other),
            ("http://site.example/dir/app.js", Kind::Script),
            ("http://site.example/dir/frame.html", Kind::Frame),
            ("http://site.example/dir/a-2x.png", Kind::Other),
            ("https://cdn.example/a-3x.png", Kind::Other),
            ("http://site.example/dir/b.webp", Kind::Other),
            ("http://site.example/bg.png", Kind::Other),
            ("http://site.example/dir/print.css", Kind::Stylesheet),
            ("http://site.example/dir/div.png", Kind::Other),
        ];
        let expected: Vec<(String, Kind)> = expected.iter().map(|(u, k)| ((*u).to_owned(), *k)).collect();
        let mut sorted = found.clone();
        sorted.sort();
        let mut wanted = expected.clone();
        wanted.push(("http://site.example/dir/b.png".to_owned(), Kind::Other));
        wanted.sort();
        assert_eq!(sorted, wanted, "{found:#?}");
        // Without frames (a frame's own page): the same, less the frame.
        let inner = html_of(&page, html, false);
        assert!(inner.iter().all(|f| f.kind != Kind::Frame));
        assert_eq!(inner.len(), found.len() - 1);
    }

    fn html_of(page: &Url, bytes: &[u8], frames: bool) -> Vec<Found> {
        html(page, bytes, Some("text/html"), frames)
    }

    #[test]
    fn base_href_moves_relative_urls() {
        let page = Url::parse("http://site.example/a/page.html").unwrap();
        let found = html_of(
            &page,
            br#"<base href="http://static.example/v2/"><img src="x.png">"#,
            true,
        );
        assert_eq!(
            urls(&found),
            [("http://static.example/v2/x.png".to_owned(), Kind::Other)]
        );
    }

    #[test]
    fn a_stylesheet_names_its_imports_fonts_and_images() {
        let sheet = Url::parse("http://site.example/css/main.css").unwrap();
        let css = br#"
            /* url(commented-out.png) */
            @import url("base.css");
            @import 'theme.css' screen;
            @font-face { font-family: X; src: url(../fonts/x.woff2) format("woff2"), url('x.woff') format("woff"); }
            .hero { background: #fff url( "/img/hero.jpg" ) no-repeat; }
            .set { background-image: image-set("s1.png" 1x, url(s2.png) 2x); }
            .str { content: "url(not-a-url.png)"; }
            @media (min-width: 10px) { .m { background: url(media.png) } }
            .data { background: url(data:image/png;base64,AAAA) }
        "#;
        let found = urls(&css_of(&sheet, css));
        let expected = [
            ("http://site.example/css/base.css", Kind::Stylesheet),
            ("http://site.example/css/theme.css", Kind::Stylesheet),
            ("http://site.example/fonts/x.woff2", Kind::Other),
            ("http://site.example/css/x.woff", Kind::Other),
            ("http://site.example/img/hero.jpg", Kind::Other),
            ("http://site.example/css/s1.png", Kind::Other),
            ("http://site.example/css/s2.png", Kind::Other),
            ("http://site.example/css/media.png", Kind::Other),
        ];
        let expected: Vec<(String, Kind)> = expected.iter().map(|(u, k)| ((*u).to_owned(), *k)).collect();
        assert_eq!(found, expected);
    }

    fn css_of(sheet: &Url, bytes: &[u8]) -> Vec<Found> {
        css(sheet, bytes)
    }

    #[test]
    fn hostile_markup_yields_only_http_urls() {
        let page = Url::parse("https://site.example/").unwrap();
        let found = html_of(
            &page,
            br#"<img src="javascript:alert(1)"><img src="file:///etc/passwd"><img src="  "><script src="//cdn.example/x.js"></script><style>@import url(ftp://x/y.css)</style>"#,
            true,
        );
        assert_eq!(urls(&found), [("https://cdn.example/x.js".to_owned(), Kind::Script)]);
    }
}
