//! URLs in HTML: what a reader follows, in document order: the `href` of links (`<a>`,
//! `<area>`), the `cite` of quotations and edits (`<q>`, `<blockquote>`, `<ins>`, `<del>`), and
//! absolute URLs written in the page's text (identifiers among those, such as an XML namespace
//! in a code example, are judged by [`super::identifiers`]). What the page loads to display
//! itself (stylesheets, icons, scripts, images, frames, media) is not cited and not listed.
//!
//! Entities are decoded by the HTML parser, relative links are resolved against `<base href>`
//! (itself resolved against `--base-url`) or else `--base-url`, and the note is the sentence of
//! the enclosing block (paragraph, list item, table cell …) that holds the link.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use super::{Collector, Options, identifiers, text};
use crate::title::html_encoding;

/// The attributes that hold cited URLs, by element: links a reader follows and the sources of
/// quotations.
fn url_attributes(tag: &str) -> &'static [&'static str] {
    match tag {
        "a" | "area" => &["href"],
        "blockquote" | "q" | "ins" | "del" => &["cite"],
        _ => &[],
    }
}

/// Elements whose text is a unit of prose, for notes.
fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "li"
            | "dd"
            | "dt"
            | "td"
            | "th"
            | "caption"
            | "figcaption"
            | "blockquote"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "pre"
            | "div"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "body"
    )
}

/// Elements whose text is not prose.
fn is_opaque(tag: &str) -> bool {
    matches!(tag, "script" | "style" | "noscript" | "template" | "textarea" | "title")
}

/// Finds the URLs of an HTML document (raw bytes, decoded by its BOM, `<meta charset>` or as
/// UTF-8/windows-1252).
pub fn extract(bytes: &[u8], options: &Options, collector: &mut Collector) {
    let (encoding, bom) = html_encoding(None, bytes);
    let (decoded, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
    let document = Html::parse_document(&decoded);
    let base = document_base(&document, options, collector);
    let mut block_texts = HashMap::new();

    for node in document.root_element().descendants() {
        match node.value() {
            Node::Element(element) => {
                let tag = element.name();
                for attr in url_attributes(tag) {
                    let Some(value) = element.attr(attr) else { continue };
                    let element_ref = ElementRef::wrap(node).expect("an element node");
                    let focus: String = if tag == "a" || tag == "q" {
                        // A link without text (an icon) is named by its title or label.
                        let text: String = element_ref.text().collect();
                        match element.attr("title").or(element.attr("aria-label")) {
                            Some(name) if text.trim().is_empty() => name.to_owned(),
                            _ => text,
                        }
                    } else {
                        element
                            .attr("alt")
                            .or(element.attr("title"))
                            .unwrap_or_default()
                            .to_owned()
                    };
                    // A link whose text is its own URL shows the URL in the text: its text node,
                    // next, lists it as a URL of the text, judged like one ("whose namespace URI
                    // is <a href=u>u</a>" names a namespace).
                    let autolink = tag == "a"
                        && collapse(&focus) == value.trim()
                        && text::extract_prose(value.trim())
                            .first()
                            .is_some_and(|c| c.url == value.trim());
                    if autolink {
                        continue;
                    }
                    let note = match block_of(element_ref) {
                        Some(block) => {
                            let block_text = block_texts
                                .entry(block.id())
                                .or_insert_with(|| collapse(&block.text().collect::<String>()));
                            sentence_around(block_text, &focus, value)
                        }
                        None => fallback_note(tag, element.attr("rel"), &focus),
                    };
                    collector.offer(value, note, base.as_ref());
                }
            }
            Node::Text(content) => {
                let parent = node.parent().and_then(ElementRef::wrap);
                if parent.is_some_and(|p| is_opaque(p.value().name())) {
                    continue;
                }
                let candidates = text::extract_prose(content);
                if candidates.is_empty() {
                    continue;
                }
                let block = parent.and_then(block_of);
                for candidate in candidates {
                    // The text before the URL, to judge whether it is an identifier: in its own
                    // text node (a code example), or else in its block as the reader reads it
                    // ("whose namespace URI is <tt>http://…</tt>").
                    let in_node = text::context_before(content, candidate.start);
                    let (note, in_block) = match block {
                        Some(block) => {
                            let block_text = block_texts
                                .entry(block.id())
                                .or_insert_with(|| collapse(&block.text().collect::<String>()));
                            let in_block = find_whole(block_text, &candidate.url)
                                .map(|at| text::context_before(block_text, at).to_owned());
                            (sentence_around(block_text, &candidate.url, &candidate.url), in_block)
                        }
                        None => (candidate.note, None),
                    };
                    let before = match in_block {
                        Some(in_block) if identifiers::identifier(&candidate.url, in_node).is_none() => in_block,
                        _ => in_node.to_owned(),
                    };
                    collector.offer_text(&candidate.url, note, base.as_ref(), &before);
                }
            }
            _ => {}
        }
    }
}

/// The base URL for relative links: the first `<base href>`, resolved against `--base-url`,
/// else `--base-url`.
fn document_base(document: &Html, options: &Options, collector: &mut Collector) -> Option<Url> {
    let selector = Selector::parse("base[href]").expect("a valid selector");
    let href = document
        .select(&selector)
        .next()
        .and_then(|base| base.value().attr("href"))
        .map(|href| href.trim_matches(|c: char| c.is_ascii_whitespace()));
    match href {
        Some(href) if !href.is_empty() => {
            let resolved = match &options.base_url {
                Some(base_url) => base_url.join(href),
                None => Url::parse(href),
            };
            match resolved {
                Ok(url) => Some(url),
                Err(e) => {
                    // Quoted with its line breaks escaped: a warning is one line (issue #15).
                    collector.warn(format!("ignoring <base href={href:?}>: {e}"));
                    options.base_url.clone()
                }
            }
        }
        _ => options.base_url.clone(),
    }
}

/// The nearest enclosing block element (the element itself when it is a block, as for
/// `<blockquote cite>`).
fn block_of(element: ElementRef<'_>) -> Option<ElementRef<'_>> {
    std::iter::once(*element)
        .chain(element.ancestors())
        .filter_map(ElementRef::wrap)
        .find(|e| is_block(e.value().name()))
}

/// The sentence of `block` that holds `focus` (the link's text, or the URL itself), clipped.
fn sentence_around(block: &str, focus: &str, url: &str) -> String {
    let focus = collapse(focus);
    for needle in [focus.as_str(), url] {
        if !needle.is_empty()
            && let Some(start) = find_whole(block, needle)
        {
            return text::note_for(block, start, start + needle.len());
        }
    }
    // A link named only by its title (an icon): that name.
    if !focus.is_empty() {
        return focus;
    }
    // The link has no text of its own (an image, a citation): the block's opening sentence.
    text::note_for(block, 0, 0)
}

/// Where `needle` first stands in `text` as a whole, not as the start of a longer URL or word
/// (`…/manifest.html` is not the one inside `…/manifest.html#package-metadata`).
fn find_whole(text: &str, needle: &str) -> Option<usize> {
    let continues = |c: char| c.is_alphanumeric() || "/#?&=%-_~+".contains(c);
    let mut matches = text.match_indices(needle).map(|(at, _)| at);
    let first = matches.clone().next();
    matches
        .find(|&at| !text[at + needle.len()..].starts_with(continues))
        .or(first)
}

fn fallback_note(tag: &str, rel: Option<&str>, focus: &str) -> String {
    let focus = collapse(focus);
    if !focus.is_empty() {
        return focus;
    }
    match rel {
        Some(rel) => format!("<{tag} rel=\"{}\">", collapse(rel)),
        None => format!("<{tag}>"),
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{Extraction, Kind, extract as extract_kind};
    use super::*;

    fn run(html: &str, base: Option<&str>) -> Extraction {
        let options = Options {
            base_url: base.map(|b| Url::parse(b).unwrap()),
            all: false,
        };
        extract_kind(Kind::Html, html.as_bytes(), &options).unwrap()
    }

    /// Issue #15 (found by fuzzing): an unusable `<base href>` with a line break in it is
    /// warned about on one line.
    #[test]
    fn a_bad_base_is_warned_about_on_one_line() {
        let found = run("<base href=\">\nhttps://docs.example/\"><a href=\"x\">x</a>", None);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(!found.warnings[0].contains('\n'), "{:?}", found.warnings);
        assert!(
            found.warnings[0].contains(r#"">\nhttps://docs.example/""#),
            "{:?}",
            found.warnings
        );
    }

    fn urls(found: &Extraction) -> Vec<&str> {
        found.links.iter().map(|l| l.url.as_str()).collect()
    }

    /// Issue #21: what a reader follows is listed, what the page loads is not.
    #[test]
    fn links_citations_and_text_urls_but_not_what_the_page_loads() {
        let found = run(
            r#"<!doctype html><html><head><link rel="canonical" href="https://a.example/canon">
            <link rel="stylesheet" href="https://a.example/style.css"><link rel="icon" href="/favicon.ico">
            <script src="https://a.example/app.js"></script></head><body>
            <p>See <a href="https://a.example/1?a=1&amp;b=2">the report</a>. Then more.</p>
            <img src="https://a.example/img.png" alt="a picture">
            <iframe src="https://a.example/frame"></iframe>
            <video><source src="https://a.example/v.mp4"></video>
            <object data="https://a.example/o.swf"></object>
            <map><area href="https://a.example/area" alt="region"></map>
            <blockquote cite="https://a.example/quote"><p>Quoted.</p></blockquote>
            <p>As <q cite="https://a.example/q">they said</q>, <ins cite="https://a.example/ins">x</ins>
            <del cite="https://a.example/del">y</del>.</p>
            <p>Plain text: https://a.example/text.</p>
            <pre>&lt;html xmlns="http://www.w3.org/1999/xhtml"&gt;</pre>
            <p>Its namespace URI is <tt>http://ns.example/vocab</tt>.</p>
            <p>Its schema, <a href="http://ns.example/vocab.xsd">http://ns.example/vocab.xsd</a>, and
            <a href="http://ns.example/">http://ns.example/</a>, the project.</p>
            <script>var u = "https://a.example/script";</script>
            </body></html>"#,
            Some("https://a.example/"),
        );
        assert_eq!(
            urls(&found),
            [
                "https://a.example/1?a=1&b=2",
                "https://a.example/area",
                "https://a.example/quote",
                "https://a.example/q",
                "https://a.example/ins",
                "https://a.example/del",
                "https://a.example/text",
                "http://ns.example/",
            ]
        );
        assert_eq!(found.links[0].note, "See the report.");
        let identifiers: Vec<&str> = found.identifiers.iter().map(|(url, _)| url.as_str()).collect();
        assert_eq!(
            identifiers,
            [
                "http://www.w3.org/1999/xhtml",
                "http://ns.example/vocab",
                "http://ns.example/vocab.xsd"
            ]
        );
    }

    #[test]
    fn relative_links_use_base_href_or_base_url_or_are_reported() {
        let page = r##"<a href="x/y.html">x</a> <a href="#top">top</a> <a href="mailto:a@b.example">m</a>"##;
        let found = run(page, None);
        assert!(found.links.is_empty());
        assert_eq!(found.unresolved, ["x/y.html"]);
        assert_eq!(found.skipped_schemes["mailto"], 1);

        let found = run(page, Some("https://a.example/docs/index.html"));
        assert_eq!(urls(&found), ["https://a.example/docs/x/y.html"]);

        let with_base = format!(r#"<head><base href="https://b.example/root/"></head>{page}"#);
        let found = run(&with_base, Some("https://a.example/"));
        assert_eq!(urls(&found), ["https://b.example/root/x/y.html"]);
    }

    #[test]
    fn percent_encoding_is_kept_and_entities_decoded() {
        let found = run(
            r#"<a href="http://www.apig.ch/Gaps%20r9%20clean.pdf?x=&lt;1&gt;">g</a>"#,
            None,
        );
        assert_eq!(urls(&found), ["http://www.apig.ch/Gaps%20r9%20clean.pdf?x=<1>"]);
    }
}
