//! The main text of an HTML page: dom_smoothie (a port of Mozilla's Readability, the extractor
//! behind Firefox's Reader View) finds the article; a page it finds none in (a short "not
//! found" page, a link list) gives its body's text without the parts that are never content.
//! Why dom_smoothie and not another extractor: BENCHMARKS.md, "Issue #14".

use std::sync::LazyLock;

use dom_smoothie::{Config, Readability, TextMode};
use regex::Regex;

/// Elements whose text is never what the page says: removed before the fallback reads the body.
const NEVER_CONTENT: &str = "script, style, noscript, template, iframe, svg, canvas, object, embed, \
    nav, header, footer, aside, form, button, select, textarea, input, [hidden], [aria-hidden=true]";

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
    // Readability keeps a box of ads or "related" links that sits inside the article.
    remove_unlikely_boxes(&document);
    match Readability::with_document(document, None, Some(config)).and_then(|mut r| r.parse()) {
        // Readability's last resort for a short page keeps everything, menus included.
        Ok(article) if article.length >= ARTICLE_MIN_CHARS => article.text_content.to_string(),
        _ => body_text(&html),
    }
}

/// Class and id words of boxes that are not the page's content (Readability's "unlikely
/// candidates", less the ones that also name content on short pages).
static UNLIKELY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|[-_ ])(ads?|advert|advertisement|banner|breadcrumbs?|combx|comments?|cookie|disqus|gdpr|menu|nav|newsletter|pagination|pager|popup|promo|related|share|sharing|sidebar|skyscraper|social|sponsor(ed)?|subscribe)([-_ ]|$)",
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
    for node in document.select("body [class], body [id]").nodes() {
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
            <main><article><h1>The report</h1>
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
