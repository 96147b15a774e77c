//! The main text of an HTML page. A page that marks its content (one `<main>` or
//! `role="main"`, or one `<article>`) gives that element's text; any other page goes through
//! dom_smoothie (a port of Mozilla's Readability, the extractor behind Firefox's Reader View),
//! which scores the page's blocks to find the article; a page it finds none in (a short "not
//! found" page, a link list) gives its body's text. Either way, what is never content goes
//! first: scripts, styles, forms, navigation, and boxes whose class or id names an ad, a menu
//! or "related" links. The landmark path costs a third of Readability's scoring (BENCHMARKS.md,
//! "Issue #14", with why dom_smoothie and not another extractor).

use std::sync::LazyLock;

use dom_smoothie::{Config, Readability, TextMode};
use regex::Regex;

/// Elements whose text is never what the page says, wherever they are.
const NEVER_CONTENT: &str = "script, style, noscript, template, iframe, svg, canvas, object, embed, \
    nav, aside, form, button, select, textarea, input, [hidden], [aria-hidden=true]";
/// The page's own header and footer (not an article's): removed before a page without
/// landmarks is read whole.
const PAGE_FRAME: &str = "header, footer";

/// The least text an article has (Readability's default): a page with less is read whole,
/// without its menus and forms.
const ARTICLE_MIN_CHARS: usize = 500;

/// The page's main text, one line per block (not yet normalised); empty when it has none.
pub fn main_text(content_type: Option<&str>, bytes: &[u8]) -> String {
    let (encoding, bom) = crate::title::html_encoding(content_type, bytes);
    // Lossy: a page that lies about its charset still has text worth comparing.
    let (html, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
    let config = Config {
        char_threshold: ARTICLE_MIN_CHARS,
        text_mode: TextMode::Formatted,
        // Metadata is not compared, and JSON-LD blocks are often the largest part of a page.
        disable_json_ld: true,
        ..Config::default()
    };
    let document = dom_query::Document::from(html.as_ref());
    if let Some(text) = landmark_text(&document) {
        return text;
    }
    // Readability keeps a box of ads or "related" links that sits inside the article.
    remove_unlikely_boxes(&document);
    match Readability::with_document(document, None, Some(config)).and_then(|mut r| r.parse()) {
        // Readability's last resort for a short page keeps everything, menus included.
        Ok(article) if article.length >= ARTICLE_MIN_CHARS => article.text_content.to_string(),
        _ => body_text(&html),
    }
}

/// The text of the one element the page marks as its content (`<main>` or `role="main"`, and
/// within it or else in the page, its one `<article>`), with what is never content removed;
/// `None` when the page marks none, or several.
fn landmark_text(document: &dom_query::Document) -> Option<String> {
    fn one(found: dom_query::Selection<'_>) -> Option<dom_query::Selection<'_>> {
        (found.length() == 1).then_some(found)
    }
    let main = one(document.select("main, [role=main]"));
    let scope = main.clone().unwrap_or_else(|| document.select("body"));
    let content = one(scope.select("article")).or(main)?;
    content.select(NEVER_CONTENT).remove();
    let content_node = *content.nodes().first()?;
    remove_unlikely_boxes_in(&content);
    Some(content_node.formatted_text().to_string())
}

/// Class and id words of boxes that are not the page's content (Readability's "unlikely
/// candidates", less the ones that also name content on short pages).
static UNLIKELY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[-_ ])(ads?|advert|advertisement|banner|breadcrumbs?|byline|combx|comments?|cookie|dateline|disqus|gdpr|menu|nav|newsletter|pagination|pager|popup|promo|related|share|sharing|sidebar|skyscraper|social|sponsor(ed)?|subscribe|timestamp)([-_ ]|$)",
    )
    .expect("a valid pattern")
});

/// Class and id words of containers that hold content even when another of their words is
/// unlikely (`class="post share-enabled"`), as in Readability's "maybe candidates".
static MAYBE_CONTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)article|body|column|content|main|shadow|post|entry|story").expect("a valid pattern")
});

/// Removes the elements whose class or id names an ad, a menu, a "related" box and the like
/// (and none that names content).
fn remove_unlikely_boxes(document: &dom_query::Document) {
    remove_unlikely_boxes_in(&document.select("body"));
}

/// [`remove_unlikely_boxes`] within `scope`.
fn remove_unlikely_boxes_in(scope: &dom_query::Selection<'_>) {
    for node in scope.select("[class], [id]").nodes() {
        let names: Vec<_> = [node.attr("class"), node.attr("id")].into_iter().flatten().collect();
        let unlikely = names.iter().any(|name| UNLIKELY.is_match(name));
        if unlikely && !names.iter().any(|name| MAYBE_CONTENT.is_match(name)) {
            node.remove_from_parent();
        }
    }
}

/// The text of the page's body without navigation, forms, scripts, ads and the like.
fn body_text(html: &str) -> String {
    let document = dom_query::Document::from(html);
    document.select(NEVER_CONTENT).remove();
    document.select(PAGE_FRAME).remove();
    remove_unlikely_boxes(&document);
    let body = document.select("body");
    let text = if body.exists() {
        body.formatted_text()
    } else {
        document.formatted_text()
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_lose_their_boilerplate() {
        let page = r#"<!doctype html><html><head><title>Report</title>
            <script nonce="abc">window.x = 1;</script><style>p { color: red }</style></head>
            <body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/news/">News</a></li></ul></nav></header>
            <div class="ad ad-banner"><a href="https://ads.example/">Sponsored: buy hosting now</a></div>
            <main><article><h1>The report</h1><p class="byline">Updated 12 March 2026, 14:05</p>
            <p>The working group met in Geneva to discuss enhanced cooperation on public policy
            issues pertaining to the Internet, and the delegates agreed on a set of recommendations
            that the commission will consider at its next session in May.</p>
            <p>Several contributions stressed the role of developing countries and asked for a
            follow-up process that includes all stakeholders on an equal footing, with clear terms
            of reference and a timetable for the work ahead.</p>
            <p>The secretariat will publish a summary of the contributions received before the
            end of the year, together with the list of participants and the documents that were
            presented during the two days of discussion.</p>
            <div class="ad ad-inline"><a href="https://ads.example/">Sponsored: buy hosting now</a></div>
            <div class="share-buttons">Share on social media</div>
            <!-- a comment that is not text -->
            </article>
            <aside class="related"><h3>Related</h3><ul><li><a href="/a">Another story</a></li></ul></aside>
            <form><input type="hidden" name="csrf" value="tok"><button>Post a comment</button></form>
            </main><footer><p>Page generated in 12 ms</p></footer></body></html>"#;
        let text = main_text(Some("text/html"), page.as_bytes());
        assert!(text.contains("enhanced cooperation"), "{text}");
        assert!(text.contains("equal footing"), "{text}");
        for boilerplate in [
            "window.x",
            "color: red",
            "Home",
            "Sponsored",
            "Another story",
            "Share on",
            "Updated",
            "Post a comment",
            "generated",
            "comment that",
        ] {
            assert!(!text.contains(boilerplate), "{boilerplate:?} in {text}");
        }
    }

    #[test]
    fn pages_without_an_article_give_their_body_text() {
        let page = "<html><head><title>Not found</title></head><body><nav><a href=/>Home</a></nav>\
            <h1>Page not found</h1><p>Sorry.</p><footer>Footer</footer></body></html>";
        let text = crate::text::normalize(&main_text(None, page.as_bytes()));
        assert!(text.contains("Page not found"), "{text}");
        assert!(text.contains("Sorry."), "{text}");
        assert!(!text.contains("Home") && !text.contains("Footer"), "{text}");
    }

    #[test]
    fn pages_without_landmarks_go_through_readability() {
        let paragraphs: String = (0..6)
            .map(|i| {
                format!(
                    "<p>Paragraph {i} of the report explains how the working group on enhanced \
                     cooperation organised its meetings, which contributions it received from \
                     governments and other stakeholders, and what it recommended.</p>"
                )
            })
            .collect();
        let links: String = (0..12)
            .map(|i| format!("<li><a href=\"/story/{i}\">Most read story number {i}</a></li>"))
            .collect();
        let page = format!(
            "<html><body><div class=\"wrap\"><div class=\"col-1\"><h1>The report</h1>{paragraphs}</div>\
             <div class=\"col-2\"><h3>Most read</h3><ul>{links}</ul></div></div></body></html>"
        );
        let text = main_text(None, page.as_bytes());
        assert!(text.contains("Paragraph 5 of the report"), "{text}");
        assert!(
            !text.contains("Most read story"),
            "a list of links is no article: {text}"
        );
    }

    #[test]
    fn short_pages_lose_their_ads_too() {
        let page = r#"<html><body><div class="ad-banner">Sponsored: hosting</div>
            <div id="sidebar">Popular now</div><p>A short notice: the office is closed.</p>
            <div class="comments">Be the first to comment</div></body></html>"#;
        let text = crate::text::normalize(&main_text(None, page.as_bytes()));
        assert_eq!(text, "A short notice: the office is closed.");
    }

    #[test]
    fn the_declared_charset_is_honoured() {
        let mut page = b"<html><body><p>Caf".to_vec();
        page.push(0xe9); // é in windows-1252
        page.extend_from_slice(b" society</p></body></html>");
        let text = main_text(Some("text/html; charset=windows-1252"), &page);
        assert!(text.contains("Café society"), "{text}");
    }
}
