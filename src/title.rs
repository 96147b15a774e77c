//! Titles of captured documents: the `<title>` of an HTML page, decoded in the charset a browser would
//! pick, and the `/Title` (or XMP `dc:title`) of a PDF, read from the first and last bytes only.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};
use regex::bytes::Regex;
use scraper::{Html, Selector};

/// The most bytes from the start of a payload that [`title_of`] looks at.
pub const MAX_HEAD: usize = 1 << 20; // 1 MiB

/// The most bytes from the end of a payload that [`title_of`] looks at (where a PDF keeps its trailer).
pub const MAX_TAIL: usize = 256 << 10;

/// The longest title returned, in characters; longer ones are cut.
pub const MAX_TITLE_CHARS: usize = 500;

/// How far the HTML charset prescan looks for a `<meta>` declaration, as in the HTML standard.
const PRESCAN_LEN: usize = 1024;

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// The title of a captured document, if one can be found cheaply.
///
/// `content_type` is the response's Content-Type header value (may carry `; charset=...`), `head` is the
/// first bytes of the payload (callers pass at most [`MAX_HEAD`] bytes), `tail` the last bytes (at most
/// [`MAX_TAIL`]; may overlap `head` or be empty for small files).
///
/// HTML is recognised by its content type (`text/html`, `application/xhtml+xml`) or, only when there is no
/// content type, by a head starting with `<!doctype html` or `<html`. A PDF is recognised by
/// `application/pdf` or by a head starting with `%PDF-` whatever the declared type, since servers often
/// send PDFs as `application/octet-stream`. Everything else has no title.
///
/// A PDF's title is read from its document information dictionary or, failing that, from uncompressed
/// XMP metadata. Titles kept only in compressed object streams (or compressed metadata streams) are out
/// of reach without inflating the file, so such PDFs yield `None`; so do encrypted PDFs, whose strings
/// are ciphertext.
pub fn title_of(content_type: Option<&str>, head: &[u8], tail: &[u8]) -> Option<String> {
    let head = &head[..head.len().min(MAX_HEAD)];
    let tail = &tail[tail.len().saturating_sub(MAX_TAIL)..];
    match classify(content_type, head)? {
        Kind::Html => html_title(content_type, head),
        Kind::Pdf => pdf_title(head, tail),
    }
}

/// Reads the head and tail of the file at `path` and calls [`title_of`] on them.
///
/// This is blocking `std::fs` I/O; async callers run it on `spawn_blocking`. The tail is only read when
/// the file is a PDF, the one format here that keeps its title at the end.
pub fn title_of_file(path: &Path, content_type: Option<&str>) -> io::Result<Option<String>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(len.min(MAX_HEAD as u64) as usize);
    (&mut file).take(MAX_HEAD as u64).read_to_end(&mut head)?;
    let mut tail = Vec::new();
    let head_len = head.len() as u64;
    if classify(content_type, &head) == Some(Kind::Pdf) && len > head_len {
        // Start no earlier than the end of the head: the overlap would only be read twice.
        let start = len.saturating_sub(MAX_TAIL as u64).max(head_len);
        file.seek(SeekFrom::Start(start))?;
        file.take(MAX_TAIL as u64).read_to_end(&mut tail)?;
    }
    Ok(title_of(content_type, &head, &tail))
}

/// The bytes a title is read from, gathered while a payload streams by (issue #13: a capture
/// is not read back from disk for its title). Once the first bytes show the payload is neither
/// HTML nor PDF, nothing more is kept; a PDF's last [`MAX_TAIL`] bytes are kept as they pass.
#[derive(Debug)]
pub struct TitleSample {
    content_type: Option<String>,
    head: Vec<u8>,
    /// Decided once the head holds [`SNIFF_LEN`] bytes (or the payload ended).
    kind: Option<Option<Kind>>,
    /// A PDF's bytes past the head; trimmed to the last [`MAX_TAIL`] now and then.
    tail: Vec<u8>,
}

/// Bytes needed to tell HTML and PDF apart from anything else (see `looks_like_html`).
const SNIFF_LEN: usize = 512;

impl TitleSample {
    /// An empty sample of a payload served as `content_type`.
    pub fn new(content_type: Option<&str>) -> Self {
        Self {
            content_type: content_type.map(str::to_owned),
            head: Vec::new(),
            kind: None,
            tail: Vec::new(),
        }
    }

    /// Takes the next bytes of the payload.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.kind.is_none() || self.kind == Some(Some(Kind::Html)) || self.kind == Some(Some(Kind::Pdf)) {
            let room = MAX_HEAD - self.head.len();
            let take = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if self.kind.is_none() && self.head.len() >= SNIFF_LEN {
            self.decide();
        }
        if self.kind == Some(Some(Kind::Pdf)) && !bytes.is_empty() {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() >= 2 * MAX_TAIL {
                self.tail.drain(..self.tail.len() - MAX_TAIL);
            }
        }
    }

    fn decide(&mut self) {
        let kind = classify(self.content_type.as_deref(), &self.head);
        if kind.is_none() {
            self.head = Vec::new();
        }
        self.kind = Some(kind);
    }

    /// The payload's title, once it has ended.
    pub fn title(mut self) -> Option<String> {
        if self.kind.is_none() {
            self.decide();
        }
        self.kind??;
        title_of(self.content_type.as_deref(), &self.head, &self.tail)
    }
}

/// A document kind with a title and a text layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `text/html`, `application/xhtml+xml`, or a page that starts like one.
    Html,
    /// `application/pdf`, or a payload starting with `%PDF-`.
    Pdf,
}

/// Whether a payload served as `content_type` and starting with `head` is HTML, a PDF, or
/// neither (the rules of [`title_of`]); also what [`crate::text`] reads text from.
pub fn classify(content_type: Option<&str>, head: &[u8]) -> Option<Kind> {
    let essence = content_type
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|essence| !essence.is_empty());
    match essence.as_deref() {
        Some("text/html" | "application/xhtml+xml") => Some(Kind::Html),
        Some("application/pdf" | "application/x-pdf") => Some(Kind::Pdf),
        _ if head.starts_with(b"%PDF-") => Some(Kind::Pdf),
        // A declared type, even a generic one, is not overridden: sniffing text/plain as HTML is how
        // browsers got content-sniffing attacks, and a title would be a guess anyway.
        None if looks_like_html(head) => Some(Kind::Html),
        _ => None,
    }
}

/// Whether `head` starts, after an optional BOM and whitespace, with `<!doctype html` or `<html`.
fn looks_like_html(head: &[u8]) -> bool {
    let prefix = &head[..head.len().min(512)];
    // A UTF-16 page must be decoded before its markup can be matched byte-wise.
    let text: Cow<'_, [u8]> = match Encoding::for_bom(prefix) {
        Some((encoding, bom)) if encoding != UTF_8 => {
            let (text, _) = encoding.decode_without_bom_handling(&prefix[bom..]);
            Cow::Owned(text.into_owned().into_bytes())
        }
        Some((_, bom)) => Cow::Borrowed(&prefix[bom..]),
        None => Cow::Borrowed(prefix),
    };
    let text = trim_start_matches(&text, |b| b.is_ascii_whitespace());
    [&b"<!doctype html"[..], b"<html"].iter().any(|tag| {
        starts_with_ignore_case(text, tag)
            && text
                .get(tag.len())
                .is_none_or(|&b| b.is_ascii_whitespace() || b == b'>')
    })
}

// ---------------------------------------------------------------------------------------------------
// HTML

fn html_title(content_type: Option<&str>, head: &[u8]) -> Option<String> {
    let (encoding, bom) = html_encoding(content_type, head);
    // Lossy on purpose: the head may end in the middle of a character, or the page may lie about its
    // charset; a title with a replacement character beats no title.
    let (text, _) = encoding.decode_without_bom_handling(&head[bom..]);
    tidy(first_title(&text)?.split_ascii_whitespace())
}

/// The encoding of an HTML document from its Content-Type and first bytes, chosen in the HTML
/// standard's order (BOM, header charset, `<meta>` prescan, then UTF-8 if valid, else
/// windows-1252), and the length of its BOM.
pub fn html_encoding(content_type: Option<&str>, head: &[u8]) -> (&'static Encoding, usize) {
    if let Some(found) = Encoding::for_bom(head) {
        return found;
    }
    if let Some(encoding) = content_type.and_then(charset_param) {
        return (encoding, 0);
    }
    if let Some(encoding) = prescan(head) {
        return (encoding, 0);
    }
    let encoding = if is_utf8_prefix(head) { UTF_8 } else { WINDOWS_1252 };
    (encoding, 0)
}

/// The encoding named by the `charset` parameter of a Content-Type value, if it names a known one.
fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches('"').as_bytes())
    })
}

/// Whether `bytes` are UTF-8, allowing a sequence cut off at the very end (the head is a prefix).
fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The text of the first HTML `title` element, as `document.title` would find it.
fn first_title(text: &str) -> Option<String> {
    // Building a DOM for a whole megabyte to read one element near the top is wasteful: parse up to the
    // first `</title>` first, and only fall back to the whole text when that title was not the page's
    // (it sat in an SVG, a script or a comment).
    let prefix = end_of_first_title_close(text).filter(|&end| end < text.len());
    prefix
        .and_then(|end| html_title_element(&Html::parse_document(&text[..end])))
        .or_else(|| html_title_element(&Html::parse_document(text)))
}

fn html_title_element(document: &Html) -> Option<String> {
    static TITLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("title").expect("valid selector"));
    document
        .select(&TITLE)
        // `<title>` inside `<svg>` is an SVG element naming the drawing, not the page.
        .find(|element| &*element.value().name.ns == HTML_NS)
        .map(|element| element.text().collect())
}

/// The byte offset just past the first `</title ...>` in `text`, if there is one.
fn end_of_first_title_close(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let start = find_ignore_case(bytes, b"</title")?;
    let close = bytes[start..].iter().position(|&b| b == b'>')?;
    // '>' is ASCII, so the offset after it is a char boundary.
    Some(start + close + 1)
}

/// The HTML standard's "prescan a byte stream to determine its encoding", over the first 1024 bytes.
fn prescan(head: &[u8]) -> Option<&'static Encoding> {
    let b = &head[..head.len().min(PRESCAN_LEN)];
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            // The dashes of "<!--" may be those of "-->": `<!-->` is a complete comment.
            i += 2 + find(&b[i + 2..], b"-->")? + 2;
        } else if starts_with_ignore_case(rest, b"<meta") && rest.get(5).is_some_and(|&c| is_html_ws(c) || c == b'/') {
            i += 5;
            if let Some(encoding) = meta_charset(b, &mut i) {
                return Some(encoding);
            }
        } else if rest.len() >= 2
            && rest[0] == b'<'
            && (rest[1].is_ascii_alphabetic() || (rest[1] == b'/' && rest.get(2).is_some_and(u8::is_ascii_alphabetic)))
        {
            // Other tags are walked attribute by attribute so that a "<meta" inside a quoted value is
            // not taken for a tag.
            i += 1;
            while i < b.len() && !is_html_ws(b[i]) && b[i] != b'>' {
                i += 1;
            }
            while attribute(b, &mut i).is_some() {}
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            i += rest.iter().position(|&c| c == b'>')?;
        }
        i += 1;
    }
    None
}

/// The encoding a `<meta>` tag declares; `i` points just past `<meta` and is left at its end.
fn meta_charset(b: &[u8], i: &mut usize) -> Option<&'static Encoding> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut got_pragma = false;
    let mut need_pragma = None;
    let mut charset = None;
    while let Some((name, value)) = attribute(b, i) {
        if seen.contains(&name) {
            continue;
        }
        match name.as_slice() {
            b"http-equiv" => got_pragma |= value == b"content-type",
            b"content" if charset.is_none() => {
                if let Some(encoding) = charset_from_meta_content(&value) {
                    charset = Some(encoding);
                    need_pragma = Some(true);
                }
            }
            b"charset" if charset.is_none() => {
                charset = Encoding::for_label(&value);
                need_pragma = Some(false);
            }
            _ => {}
        }
        seen.push(name);
    }
    match need_pragma? {
        true if !got_pragma => None,
        _ => match charset? {
            // A byte-oriented prescan that found ASCII markup cannot be reading UTF-16.
            e if e == UTF_16BE || e == UTF_16LE => Some(UTF_8),
            e if e == X_USER_DEFINED => Some(WINDOWS_1252),
            e => Some(e),
        },
    }
}

/// The HTML standard's "get an attribute": name and value lower-cased, `None` at the end of the tag.
fn attribute(b: &[u8], i: &mut usize) -> Option<(Vec<u8>, Vec<u8>)> {
    while *i < b.len() && (is_html_ws(b[*i]) || b[*i] == b'/') {
        *i += 1;
    }
    if b.get(*i).is_none_or(|&c| c == b'>') {
        return None;
    }
    let mut name = Vec::new();
    loop {
        let c = *b.get(*i)?;
        if c == b'=' && !name.is_empty() {
            *i += 1;
            break;
        }
        if is_html_ws(c) {
            while b.get(*i).is_some_and(|&c| is_html_ws(c)) {
                *i += 1;
            }
            if b.get(*i) != Some(&b'=') {
                return Some((name, Vec::new()));
            }
            *i += 1;
            break;
        }
        if c == b'/' || c == b'>' {
            return Some((name, Vec::new()));
        }
        name.push(c.to_ascii_lowercase());
        *i += 1;
    }
    while b.get(*i).is_some_and(|&c| is_html_ws(c)) {
        *i += 1;
    }
    let mut value = Vec::new();
    match *b.get(*i)? {
        quote @ (b'"' | b'\'') => {
            *i += 1;
            loop {
                let c = *b.get(*i)?;
                *i += 1;
                if c == quote {
                    return Some((name, value));
                }
                value.push(c.to_ascii_lowercase());
            }
        }
        b'>' => Some((name, value)),
        _ => {
            while let Some(&c) = b.get(*i).filter(|&&c| !is_html_ws(c) && c != b'>') {
                value.push(c.to_ascii_lowercase());
                *i += 1;
            }
            Some((name, value))
        }
    }
}

/// The HTML standard's "extract a character encoding from a meta element" for `content="...; charset=x"`.
fn charset_from_meta_content(s: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    loop {
        pos += find_ignore_case(&s[pos..], b"charset")? + b"charset".len();
        while s.get(pos).is_some_and(|&c| is_html_ws(c)) {
            pos += 1;
        }
        if s.get(pos) != Some(&b'=') {
            continue;
        }
        pos += 1;
        while s.get(pos).is_some_and(|&c| is_html_ws(c)) {
            pos += 1;
        }
        return match *s.get(pos)? {
            quote @ (b'"' | b'\'') => {
                let len = s[pos + 1..].iter().position(|&c| c == quote)?;
                Encoding::for_label(&s[pos + 1..pos + 1 + len])
            }
            _ => {
                let len = s[pos..]
                    .iter()
                    .position(|&c| is_html_ws(c) || c == b';')
                    .unwrap_or(s.len() - pos);
                Encoding::for_label(&s[pos..pos + len])
            }
        };
    }
}

fn is_html_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

// ---------------------------------------------------------------------------------------------------
// PDF

/// PDF white-space characters, as a regex class.
macro_rules! ws {
    () => {
        r"[\x00\t\n\x0C\r ]"
    };
}

static INFO_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?-u)/Info", ws!(), r"*(\d+)", ws!(), r"+(\d+)", ws!(), r"+R")).unwrap());
static INDIRECT_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?-u)\A(\d+)", ws!(), r"+(\d+)", ws!(), r"+R")).unwrap());
static ENCRYPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?-u)/Encrypt", ws!(), r"*(?:\d|<<)")).unwrap());
static OBJ_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?-u)(?:\A|[^0-9])\d+", ws!(), r"+\d+", ws!(), r"+obj")).unwrap());
static XMP_TITLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s-u)<dc:title\b[^>]*>(.*?)</dc:title>").unwrap());
static XMP_LI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s-u)<rdf:li\b([^>]*[^/>])?>(.*?)</rdf:li>").unwrap());

fn pdf_title(head: &[u8], tail: &[u8]) -> Option<String> {
    // The tail first: that is where the trailer is, and where an incremental update puts a newer /Info.
    let regions = [tail, head];
    let encrypted = regions.iter().any(|region| ENCRYPT.is_match(region));
    let info = if encrypted { None } else { info_title(&regions) };
    info.or_else(|| regions.iter().find_map(|region| xmp_title(region)))
}

/// The `/Title` of the document information dictionary.
fn info_title(regions: &[&[u8]]) -> Option<String> {
    let info_ref = regions.iter().find_map(|region| {
        let caps = INFO_REF.captures_iter(region).last()?;
        Some((number(&caps[1])?, number(&caps[2])?))
    });
    let raw = match info_ref {
        Some((num, generation)) => {
            let body = find_object(regions, num, generation)?;
            let body = &body[..find(body, b"endobj").unwrap_or(body.len())];
            title_value(regions, body)?
        }
        // No trailer in sight (or a hand-made file without one): take a /Title that does not belong to
        // an outline item, whose /Parent key gives it away.
        None => regions.iter().find_map(|region| unowned_title(regions, region))?,
    };
    tidy_pdf(&decode_pdf_text(&raw))
}

/// The value of the first `/Title` key in `dict`, resolving one indirect reference.
fn title_value(regions: &[&[u8]], dict: &[u8]) -> Option<Vec<u8>> {
    let at = title_keys(dict).next()?;
    let value = skip_pdf_ws(&dict[at + b"/Title".len()..]);
    if let Some(caps) = INDIRECT_REF.captures(value) {
        let target = find_object(regions, number(&caps[1])?, number(&caps[2])?)?;
        return pdf_string(skip_pdf_ws(target));
    }
    pdf_string(value)
}

/// The last `/Title` in `region` whose object has no `/Parent`, as raw string bytes.
fn unowned_title(regions: &[&[u8]], region: &[u8]) -> Option<Vec<u8>> {
    let starts: Vec<usize> = OBJ_START.find_iter(region).map(|m| m.end()).collect();
    let parents: Vec<usize> = find_all(region, b"/Parent").collect();
    let keys: Vec<usize> = title_keys(region).collect();
    keys.into_iter().rev().find_map(|at| {
        // The object around this key: from the last "N G obj" before it to the next one (or the edges).
        let idx = starts.partition_point(|&s| s <= at);
        let from = idx.checked_sub(1).map_or(0, |i| starts[i]);
        let to = starts.get(idx).copied().unwrap_or(region.len());
        let first_parent = parents.partition_point(|&p| p < from);
        if parents.get(first_parent).is_some_and(|&p| p < to) {
            return None;
        }
        title_value(regions, &region[at..to])
    })
}

/// Offsets of `/Title` keys (not `/TitleFoo`) in `bytes`.
fn title_keys(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    find_all(bytes, b"/Title").filter(move |&at| {
        bytes
            .get(at + b"/Title".len())
            .is_none_or(|&b| is_pdf_ws(b) || b"()<>[]{}/%".contains(&b))
    })
}

/// The bytes just after the keyword of object `num generation obj`, from the last definition in reach.
fn find_object<'a>(regions: &[&'a [u8]], num: u64, generation: u64) -> Option<&'a [u8]> {
    let pattern = format!(
        concat!(r"(?-u)(?:\A|[^0-9]){}", ws!(), r"+{}", ws!(), r"+obj"),
        num, generation
    );
    let re = Regex::new(&pattern).ok()?;
    regions
        .iter()
        .find_map(|region| re.find_iter(region).last().map(|m| &region[m.end()..]))
}

/// A literal `(...)` or hexadecimal `<...>` string at the start of `s`, as raw bytes.
fn pdf_string(s: &[u8]) -> Option<Vec<u8>> {
    match s {
        [b'(', rest @ ..] => literal_string(rest),
        [b'<', rest @ ..] if rest.first() != Some(&b'<') => hex_string(rest),
        _ => None,
    }
}

/// The body of a literal string, `s` starting just after its `(`; `None` if it is cut off.
fn literal_string(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        i += 1;
        match b {
            b'\\' => {
                let e = *s.get(i)?;
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0C),
                    b'0'..=b'7' => {
                        let mut value = u32::from(e - b'0');
                        for _ in 0..2 {
                            match s.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        // The spec says high-order overflow is ignored.
                        out.push((value & 0xFF) as u8);
                    }
                    // A backslash at the end of a line continues the string on the next one.
                    b'\r' => {
                        if s.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    // `\(`, `\)`, `\\`, and any other character whose backslash is to be ignored.
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(b);
            }
            b')' if depth == 0 => return Some(out),
            b')' => {
                depth -= 1;
                out.push(b);
            }
            // An unescaped end of line of any kind reads as a single line feed.
            b'\r' => {
                if s.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(b'\n');
            }
            _ => out.push(b),
        }
    }
    None
}

/// The bytes of a hexadecimal string, `s` starting just after its `<`; `None` if malformed or cut off.
fn hex_string(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut high = None;
    for &b in s {
        let nibble = match b {
            b'>' => {
                // An odd final digit stands for its high nibble.
                out.extend(high.map(|h: u8| h << 4));
                return Some(out);
            }
            _ if is_pdf_ws(b) => continue,
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        match high.take() {
            Some(h) => out.push(h << 4 | nibble),
            None => high = Some(nibble),
        }
    }
    None
}

/// Decodes a PDF text string: UTF-16BE (or UTF-8) after a byte order mark, PDFDocEncoding otherwise.
fn decode_pdf_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        strip_language_escapes(&UTF_16BE.decode_without_bom_handling(rest).0)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        // Not allowed by the spec, but written by enough producers that readers accept it.
        strip_language_escapes(&UTF_16LE.decode_without_bom_handling(rest).0)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        // PDF 2.0 allows UTF-8 text strings.
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|&b| pdf_doc_char(b)).collect()
    }
}

/// Removes the `ESC lang [country] ESC` markers that UTF-16 text strings may carry.
fn strip_language_escapes(text: &str) -> String {
    text.split('\u{1B}').step_by(2).collect()
}

/// One byte of PDFDocEncoding (PDF 1.7, Annex D): Latin-1, except for the ranges below.
fn pdf_doc_char(b: u8) -> char {
    const HIGH: [char; 33] = [
        '\u{2022}', '\u{2020}', '\u{2021}', '\u{2026}', '\u{2014}', '\u{2013}', '\u{0192}', '\u{2044}', // 0x80
        '\u{2039}', '\u{203A}', '\u{2212}', '\u{2030}', '\u{201E}', '\u{201C}', '\u{201D}', '\u{2018}', // 0x88
        '\u{2019}', '\u{201A}', '\u{2122}', '\u{FB01}', '\u{FB02}', '\u{0141}', '\u{0152}', '\u{0160}', // 0x90
        '\u{0178}', '\u{017D}', '\u{0131}', '\u{0142}', '\u{0153}', '\u{0161}', '\u{017E}', '\u{FFFD}', // 0x98
        '\u{20AC}', // 0xA0
    ];
    const LOW: [char; 8] = [
        '\u{02D8}', '\u{02C7}', '\u{02C6}', '\u{02D9}', '\u{02DD}', '\u{02DB}', '\u{02DA}', '\u{02DC}',
    ];
    match b {
        0x18..=0x1F => LOW[usize::from(b - 0x18)],
        0x80..=0xA0 => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The `dc:title` of an uncompressed XMP packet, preferring the `x-default` language alternative.
fn xmp_title(region: &[u8]) -> Option<String> {
    let inner = XMP_TITLE.captures(region)?.get(1)?.as_bytes();
    let items: Vec<_> = XMP_LI.captures_iter(inner).collect();
    let raw = match items
        .iter()
        .find(|caps| {
            caps.get(1)
                .is_some_and(|attrs| find(attrs.as_bytes(), b"x-default").is_some())
        })
        .or(items.first())
    {
        Some(caps) => caps.get(2)?.as_bytes(),
        // Some producers write the title as plain text without the rdf:Alt around it.
        None if !inner.contains(&b'<') => inner,
        None => return None,
    };
    tidy_pdf(&crate::markup::decode_entities(&String::from_utf8_lossy(raw)))
}

fn number(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn skip_pdf_ws(mut s: &[u8]) -> &[u8] {
    loop {
        s = trim_start_matches(s, is_pdf_ws);
        match s.strip_prefix(b"%") {
            // A comment runs to the end of the line.
            Some(comment) => s = trim_start_matches(comment, |b| b != b'\r' && b != b'\n'),
            None => return s,
        }
    }
}

fn is_pdf_ws(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Tidies a PDF title: control characters (NULs are common) become spaces, then [`tidy`].
fn tidy_pdf(text: &str) -> Option<String> {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    tidy(text.split_whitespace())
}

// ---------------------------------------------------------------------------------------------------
// Shared helpers

/// Joins words with single spaces and caps the result at [`MAX_TITLE_CHARS`]; `None` if empty.
fn tidy<'a>(words: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_TITLE_CHARS * 4 {
            // Enough bytes for the cap whatever the characters; the rest would be thrown away.
            break;
        }
    }
    if let Some((cut, _)) = out.char_indices().nth(MAX_TITLE_CHARS) {
        out.truncate(cut);
        out.truncate(out.trim_end().len());
    }
    (!out.is_empty()).then_some(out)
}

fn trim_start_matches(s: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    let start = s.iter().position(|&b| !pred(b)).unwrap_or(s.len());
    &s[start..]
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

fn find_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, window)| *window == needle)
        .map(|(at, _)| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: Option<&str> = Some("text/html");

    fn html(head: &[u8]) -> Option<String> {
        title_of(HTML, head, b"")
    }

    #[test]
    fn utf8_html_title() {
        let page = "<!DOCTYPE html><html><head><title>Zürich — 日本語 &amp; more</title></head><body></body></html>";
        assert_eq!(html(page.as_bytes()).as_deref(), Some("Zürich — 日本語 & more"));
    }

    #[test]
    fn windows_1252_from_content_type_charset() {
        let page = b"<title>Caf\xe9 \x96 r\xe9sum\xe9</title>";
        let ct = Some("text/html; charset=windows-1252");
        assert_eq!(title_of(ct, page, b"").as_deref(), Some("Café – résumé"));
        // The header outranks a <meta> that says otherwise.
        let page = b"<meta charset=utf-8><title>Caf\xe9 \x96 r\xe9sum\xe9</title>";
        let ct = Some("text/html;Charset=\"Windows-1252\"");
        assert_eq!(title_of(ct, page, b"").as_deref(), Some("Café – résumé"));
    }

    #[test]
    fn windows_1252_from_meta_charset() {
        let page = b"<html><head><meta charset=\"windows-1252\"><title>Caf\xe9 \x96 r\xe9sum\xe9</title>";
        assert_eq!(html(page).as_deref(), Some("Café – résumé"));
        // The declaration wins even over bytes that happen to be valid UTF-8, as in a browser.
        let page = b"<META CHARSET='windows-1252'><title>Caf\xc3\xa9</title>";
        assert_eq!(html(page).as_deref(), Some("CafÃ©"));
    }

    #[test]
    fn latin1_from_meta_http_equiv() {
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">\
                     <title>Caf\xe9 \x96 r\xe9sum\xe9</title>";
        assert_eq!(html(page).as_deref(), Some("Café – résumé"));
        // Attribute order, quoting and case vary; iso-8859-1 means windows-1252, as in browsers.
        for meta in [
            &b"<meta content='text/html; charset=ISO-8859-1' http-equiv='content-type'>"[..],
            b"<Meta Content=\"text/html;charset=latin1\" HTTP-EQUIV=Content-Type />",
            b"<!-- <meta charset=utf-8> --><meta http-equiv=content-type content=\"text/html; charset='l1'\">",
        ] {
            assert_eq!(prescan(meta), Some(WINDOWS_1252), "{}", String::from_utf8_lossy(meta));
        }
        // Without the http-equiv pragma, a content attribute declares nothing.
        assert_eq!(prescan(b"<meta content=\"text/html; charset=iso-8859-1\">"), None);
        // A "<meta" inside another tag's attribute is not a declaration.
        assert_eq!(
            prescan(b"<a title='<meta charset=koi8-r>'><meta charset=iso-8859-2>"),
            Encoding::for_label(b"iso-8859-2")
        );
        // Past the first 1024 bytes nothing is looked at.
        let mut late = vec![b' '; PRESCAN_LEN];
        late.extend_from_slice(b"<meta charset=windows-1252>");
        assert_eq!(prescan(&late), None);
    }

    #[test]
    fn bom_overrides_wrong_header_charset() {
        let page = "\u{FEFF}<title>Café – résumé</title>";
        let ct = Some("text/html; charset=windows-1252");
        assert_eq!(title_of(ct, page.as_bytes(), b"").as_deref(), Some("Café – résumé"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<title>Zürich</title>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(title_of(ct, &utf16, b"").as_deref(), Some("Zürich"));
    }

    #[test]
    fn whitespace_is_collapsed() {
        let page = b"<title>\n   A  \t title\r\n  split   over lines  \n</title>";
        assert_eq!(html(page).as_deref(), Some("A title split over lines"));
    }

    #[test]
    fn long_titles_are_capped() {
        let page = format!("<title>{}</title>", "é".repeat(MAX_TITLE_CHARS + 10));
        let title = html(page.as_bytes()).unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
    }

    #[test]
    fn missing_or_blank_title_is_none() {
        assert_eq!(html(b"<html><head></head><body><h1>Hi</h1></body></html>"), None);
        assert_eq!(html(b"<title>  \n </title>"), None);
        assert_eq!(html(b""), None);
    }

    #[test]
    fn svg_title_is_ignored() {
        assert_eq!(
            html(b"<html><body><svg><title>Icon</title></svg><p>x</p></body></html>"),
            None
        );
        let page = b"<html><body><svg><title>Icon</title></svg><title>Late</title></body></html>";
        assert_eq!(html(page).as_deref(), Some("Late"));
        let page = b"<html><head><title>Page</title></head><body><svg><title>Icon</title></svg></body></html>";
        assert_eq!(html(page).as_deref(), Some("Page"));
    }

    #[test]
    fn html_is_sniffed_only_without_content_type() {
        let page = b"\xEF\xBB\xBF \n<!DOCTYPE HTML>\n<html><title>Sniffed</title></html>";
        assert_eq!(title_of(None, page, b"").as_deref(), Some("Sniffed"));
        assert_eq!(
            title_of(Some(""), b"<HTML lang=en><title>Bare</title>", b"").as_deref(),
            Some("Bare")
        );
        assert_eq!(title_of(Some("text/plain"), page, b""), None);
        assert_eq!(title_of(Some("application/octet-stream"), page, b""), None);
        assert_eq!(title_of(None, b"<title>No doctype</title>", b""), None);
        assert_eq!(title_of(None, b"<htmlx><title>Not html</title>", b""), None);
        let page = b"<html><head><title>X</title></head></html>";
        assert_eq!(
            title_of(Some("application/xhtml+xml; charset=utf-8"), page, b"").as_deref(),
            Some("X")
        );
    }

    #[test]
    fn head_cut_mid_utf8_sequence() {
        let page = "<title>Zürich</title><p>日本".as_bytes();
        let cut = &page[..page.len() - 1];
        assert!(std::str::from_utf8(cut).is_err());
        assert_eq!(html(cut).as_deref(), Some("Zürich"));
        // Cut inside the title itself: the partial character becomes U+FFFD rather than failing.
        let page = "<title>Zürich 日本".as_bytes();
        assert_eq!(html(&page[..page.len() - 2]).as_deref(), Some("Zürich 日\u{FFFD}"));
    }

    /// A small but well-formed PDF whose object 3 is the document information dictionary.
    fn pdf(info: &[u8]) -> Vec<u8> {
        let mut out =
            b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Outlines 4 0 R >>\nendobj\n\
            2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
            4 0 obj\n<< /Type /Outlines /First 5 0 R /Last 5 0 R /Count 1 >>\nendobj\n\
            5 0 obj\n<< /Title (Chapter 1) /Parent 4 0 R /Dest [0 /Fit] >>\nendobj\n3 0 obj\n"
                .to_vec();
        out.extend_from_slice(info);
        out.extend_from_slice(
            b"\nendobj\nxref\n0 6\ntrailer\n<< /Size 6 /Root 1 0 R /Info 3 0 R >>\nstartxref\n0\n%%EOF\n",
        );
        out
    }

    fn pdf_title_of(file: &[u8]) -> Option<String> {
        let head = title_of(Some("application/pdf"), file, b"");
        let tail = title_of(Some("application/pdf"), b"%PDF-1.4\n", file);
        assert_eq!(head, tail, "found in the head and in the tail alike");
        head
    }

    #[test]
    fn pdf_literal_title_with_escaped_parens() {
        let file = pdf(b"<< /Producer (x) /Title (Gaps r9 \\(clean\\)) /Author (me) >>");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Gaps r9 (clean)"));
        let file = pdf(b"<</Title(Nested (balanced) parens \\\\ and a \\\n continued line)>>");
        assert_eq!(
            pdf_title_of(&file).as_deref(),
            Some("Nested (balanced) parens \\ and a continued line")
        );
    }

    #[test]
    fn pdf_utf16be_hex_title() {
        let file = pdf(b"<< /Title <FEFF 0043 0061 0066 00E9 0020 2013 0020 65E5 672C D83D DE00> >>");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Café – 日本😀"));
        // A language escape is not part of the text.
        let file = pdf(b"<< /Title <FEFF001B656E001B0048 0069> >>");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Hi"));
    }

    #[test]
    fn pdf_octal_escapes_and_pdfdoc_encoding() {
        let file = pdf(b"<< /Title (Caf\\351 \\204 r\\351sum\\351 \\2235x \\215q\\216 \\0301) >>");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Café — résumé ﬁ5x “q” ˘1"));
        assert_eq!(decode_pdf_text(b"\x80\x85\x8f\x90\x94\xa0\xe9"), "•–‘’ﬂ€é");
        // Raw (unescaped) bytes are PDFDocEncoding too.
        let file = pdf(b"<< /Title (\x93rst \x84 \xe9t\xe9) >>");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("ﬁrst — été"));
    }

    #[test]
    fn pdf_indirect_title_and_incremental_update() {
        let mut file = pdf(b"<< /Title 6 0 R >>");
        file.extend_from_slice(b"6 0 obj\n(Indirect)\nendobj\n");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Indirect"));
        // An incremental update appends a new /Info; the latest one wins.
        let mut file = pdf(b"<< /Title (Old) >>");
        file.extend_from_slice(b"7 0 obj\n<< /Title (New) >>\nendobj\ntrailer\n<< /Info 7 0 R /Prev 0 >>\n%%EOF\n");
        assert_eq!(pdf_title_of(&file).as_deref(), Some("New"));
    }

    #[test]
    fn pdf_without_title_is_none() {
        // The outline item's /Title is not the document's.
        assert_eq!(pdf_title_of(&pdf(b"<< /Producer (x) >>")), None);
        assert_eq!(pdf_title_of(&pdf(b"<< /Title () >>")), None);
        assert_eq!(pdf_title_of(&pdf(b"<< /Title <FEFF> >>")), None);
        // Info kept in a compressed object stream: out of reach.
        let file =
            b"%PDF-1.5\n9 0 obj\n<< /Type /XRef /Info 3 0 R /Filter /FlateDecode >>\nstream\n\x78\x9c\nendstream";
        assert_eq!(pdf_title_of(file), None);
        // Strings of an encrypted file are ciphertext.
        let mut file = pdf(b"<< /Title (\x8a\x01\xfe) >>");
        file.extend_from_slice(b"trailer\n<< /Encrypt 8 0 R /Info 3 0 R >>\n");
        assert_eq!(pdf_title_of(&file), None);
        // No trailer in reach and only an outline item's /Title: still not the document's.
        let file = b"%PDF-1.4\n5 0 obj\n<< /Title (Chapter 1) /Parent 4 0 R >>\nendobj\n6 0 obj\n<< /Producer (x) >>";
        assert_eq!(pdf_title_of(file), None);
    }

    #[test]
    fn pdf_xmp_title_is_a_fallback() {
        let xmp = b"<x:xmpmeta><rdf:RDF><rdf:Description><dc:title><rdf:Alt>\
            <rdf:li xml:lang=\"de\">Titel</rdf:li><rdf:li xml:lang=\"x-default\">Gaps &amp; r9</rdf:li>\
            </rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>";
        let mut file = pdf(b"<< /Producer (x) >>");
        file.extend_from_slice(xmp);
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Gaps & r9"));
        // The /Title entry comes first when there is one.
        let mut file = pdf(b"<< /Title (Info) >>");
        file.extend_from_slice(xmp);
        assert_eq!(pdf_title_of(&file).as_deref(), Some("Info"));
    }

    #[test]
    fn pdf_sniffed_and_minimal() {
        let file = b"%PDF-1.3\n1 0 obj << /Title (Bare) >> endobj";
        assert_eq!(title_of(None, file, b"").as_deref(), Some("Bare"));
        assert_eq!(
            title_of(Some("application/octet-stream"), file, b"").as_deref(),
            Some("Bare")
        );
        // A truncated string is not a title.
        assert_eq!(title_of(None, b"%PDF-1.3\n1 0 obj << /Title (Cut off", b""), None);
    }

    #[test]
    fn other_types_have_no_title() {
        let page = b"<html><title>T</title></html>";
        assert_eq!(
            title_of(Some("image/png"), b"\x89PNG\r\n\x1a\n<title>x</title>", b""),
            None
        );
        assert_eq!(title_of(Some("text/plain; charset=utf-8"), page, b""), None);
        assert_eq!(title_of(Some("application/json"), b"{\"title\": \"x\"}", b""), None);
        assert_eq!(title_of(None, b"just some text /Title (x)", b""), None);
    }

    #[test]
    fn title_of_file_reads_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("page.html");
        std::fs::write(&page, b"<title>Caf\xe9</title>").unwrap();
        assert_eq!(
            title_of_file(&page, Some("text/html; charset=iso-8859-1"))
                .unwrap()
                .as_deref(),
            Some("Café")
        );

        // A PDF bigger than the head, whose title is only in the trailer area.
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(MAX_HEAD + 1000, b' ');
        big.extend_from_slice(b"3 0 obj\n<< /Title (From the tail) >>\nendobj\ntrailer\n<< /Info 3 0 R >>\n%%EOF\n");
        let path = dir.path().join("big.pdf");
        std::fs::write(&path, &big).unwrap();
        assert_eq!(title_of_file(&path, None).unwrap().as_deref(), Some("From the tail"));
        assert_eq!(
            title_of(None, &big[..MAX_HEAD], b""),
            None,
            "the title is beyond the head"
        );

        assert!(title_of_file(&dir.path().join("missing"), None).is_err());
    }
}
