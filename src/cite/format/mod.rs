//! The citation formats: each writes a list of [`Citation`]s as text to paste where people
//! cite, escaping everything that came from links.json or a capture for its own syntax.

mod biblatex;
mod csl_json;
mod html;
mod markdown;
mod text;
mod wikitext;

pub use biblatex::{bibtex_escape, bibtex_key};
pub use markdown::autolink;
pub use wikitext::wikitext_escape;

use super::Citation;

/// An output format of `linkkeep cite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A list of Robust Links (`<ol>` of `<li>`), to paste into a page.
    Html,
    /// A numbered reference list.
    Markdown,
    /// Wikipedia `{{cite web}}` templates, one a line.
    Wikitext,
    /// BibLaTeX `@online` entries.
    Biblatex,
    /// A CSL-JSON array, as Zotero and pandoc import.
    CslJson,
    /// Plain text, a block of lines per link.
    Text,
}

/// `citations` written in `format`.
pub fn render(format: Format, citations: &[Citation]) -> String {
    match format {
        Format::Html => html::render(citations),
        Format::Markdown => markdown::render(citations),
        Format::Wikitext => wikitext::render(citations),
        Format::Biblatex => biblatex::render(citations),
        Format::CslJson => csl_json::render(citations),
        Format::Text => text::render(citations),
    }
}
