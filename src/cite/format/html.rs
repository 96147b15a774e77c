//! Citations as HTML: an ordered list whose every item is a Robust Link to the cited URL (its
//! three `data-` attributes, see [`crate::cite::robust_link`]), then the publisher, the cited
//! version's date and hash, and a plain link to each archived copy.
//!
//! ```html
//! <ol class="linkkeep-citations">
//! <li id="cite-ID"><a href="URL" data-originalurl="URL" data-versiondate="2018-03-01"
//!   data-versionurl="COPY 2018-03-01T10:00:00Z …">Title</a>. Publisher. Cited version of
//!   2018-03-01, SHA-256 <code>…</code>. Archived: <a href="COPY">this archive, 2018-03-01</a>.</li>
//! </ol>
//! ```

use std::fmt::Write;

use crate::cite::robust_link::RobustLink;
use crate::cite::{Citation, date};
use crate::markup::escape;

/// Renders the list.
pub fn render(citations: &[Citation]) -> String {
    let mut out = String::from("<ol class=\"linkkeep-citations\">\n");
    for citation in citations {
        let _ = write!(
            out,
            "<li id=\"cite-{}\"><a href=\"{}\"",
            escape(&citation.id),
            escape(&citation.url)
        );
        if let Some(robust) = RobustLink::of(citation) {
            for (name, value) in robust.attributes() {
                let _ = write!(out, " {name}=\"{}\"", escape(value));
            }
        }
        let _ = write!(
            out,
            ">{}</a>. {}.",
            escape(&citation.title),
            escape(&citation.publisher)
        );
        if let Some(version) = &citation.version {
            let _ = write!(
                out,
                " Cited version of {}, SHA-256 <code>{}</code>.",
                date(version.captured),
                escape(&version.sha256)
            );
            let copies: Vec<String> = version
                .copies
                .iter()
                .map(|copy| {
                    let when = copy.captured.map(|t| format!(", {}", date(t))).unwrap_or_default();
                    format!(
                        "<a class=\"archived-copy\" href=\"{}\">{}{when}</a>",
                        escape(&copy.url),
                        escape(copy.holder.label())
                    )
                })
                .collect();
            if !copies.is_empty() {
                let _ = write!(out, " Archived: {}.", copies.join(", "));
            }
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
    out
}
