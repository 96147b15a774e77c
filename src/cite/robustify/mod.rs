//! `cite --robustify`: the links of a citing document (HTML or Markdown) made robust, for
//! every URL the archive holds a copy of, with every other byte of the document left as it was.
//!
//! - HTML ([`html`]): each `<a href>` to such a URL gets the Robust Links attributes
//!   (`data-originalurl`, `data-versiondate`, `data-versionurl`) added to its start tag, or
//!   updated when it has them already; nothing else in the tag or the page changes.
//! - Markdown ([`markdown`]): each inline, reference or autolink link, and each bare URL, to such
//!   a URL is followed by the copies, as Markdown that GitHub and pandoc both render (they drop
//!   or ignore `data-` attributes of inline HTML):
//!   `[text](URL) (archived: [this archive, 2018-03-01](<…>); [Wayback Machine, 2018-03-02](<…>))`.
//!   Links in code, HTML and metadata blocks are left alone; running it again replaces the
//!   copies it wrote instead of adding more.
//!
//! A link is matched to a citation by its URL as the `url` crate normalises it, and, failing
//! that, without its `#fragment`. URLs the archive does not hold are left alone; those it holds
//! without any copy to point to (no `--replay-base`, no public copy, or no capture at all) are
//! left alone too, and reported.

pub mod html;
pub mod markdown;

use std::collections::HashMap;

use url::Url;

use super::Citation;

/// The kind of citing document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// HTML or XHTML.
    Html,
    /// Markdown (or plain text, read as Markdown).
    Markdown,
}

/// Why a document could not be robustified.
#[derive(Debug, thiserror::Error)]
pub enum RobustifyError {
    #[error("the Markdown document is not UTF-8 text")]
    NotUtf8,
    #[error("the HTML document's encoding ({0}) is not one lol_html can rewrite")]
    Encoding(&'static str),
    #[error("the HTML document could not be rewritten")]
    Html(#[source] lol_html::errors::RewritingError),
}

/// A robustified document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Robustified {
    /// The document with its links made robust.
    pub document: Vec<u8>,
    /// How many links were made robust.
    pub robust: usize,
    /// URLs the archive holds that were left alone for want of a copy, each once, in document
    /// order.
    pub without_copy: Vec<String>,
}

/// Rewrites `document` of `kind` with the copies `citations` name.
pub fn robustify(kind: DocumentKind, document: &[u8], citations: &[Citation]) -> Result<Robustified, RobustifyError> {
    let lookup = Lookup::new(citations);
    match kind {
        DocumentKind::Html => html::robustify(document, &lookup),
        DocumentKind::Markdown => {
            let text = std::str::from_utf8(document).map_err(|_| RobustifyError::NotUtf8)?;
            Ok(markdown::robustify(text, &lookup))
        }
    }
}

/// The citations by normalised URL.
#[derive(Debug)]
pub struct Lookup<'a> {
    by_url: HashMap<String, &'a Citation>,
}

/// What a link's URL names.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    /// A link the archive holds a copy of.
    Robust(&'a Citation),
    /// A link the archive holds, without a copy to point to.
    NoCopy(&'a Citation),
    /// A URL the archive does not hold.
    Unknown,
}

impl<'a> Lookup<'a> {
    /// Indexes `citations` by their URLs, normalised; the first citation of a URL wins.
    pub fn new(citations: &'a [Citation]) -> Self {
        let mut by_url = HashMap::new();
        for citation in citations {
            if let Ok(url) = Url::parse(citation.url.trim()) {
                by_url.entry(url.into()).or_insert(citation);
            }
        }
        Self { by_url }
    }

    /// The citation of `url` (an absolute URL as found in the document, character references
    /// decoded), matched as normalised or, failing that, without its fragment.
    pub fn find(&self, url: &str) -> Found<'a> {
        let Ok(mut url) = Url::parse(url.trim()) else {
            return Found::Unknown;
        };
        let mut citation = self.by_url.get(url.as_str());
        if citation.is_none() && url.fragment().is_some() {
            url.set_fragment(None);
            citation = self.by_url.get(url.as_str());
        }
        match citation {
            Some(c) if !c.copies().is_empty() => Found::Robust(c),
            Some(c) => Found::NoCopy(c),
            None => Found::Unknown,
        }
    }
}

/// Notes a URL left alone for want of a copy, once.
fn note_without_copy(without_copy: &mut Vec<String>, citation: &Citation) {
    if !without_copy.contains(&citation.url) {
        without_copy.push(citation.url.clone());
    }
}
