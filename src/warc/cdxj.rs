//! SURT keys and CDXJ lines as pywb writes and reads them.
//!
//! A CDXJ line is `<surt> <timestamp> <json>`; the file is sorted byte-wise so replay tools can
//! binary-search it by key. [`surt`] is a port of the `surt` Python package's default
//! canonicalizer (Google's canonicalization followed by the Internet Archive's), which is what
//! pywb's `canonicalize` calls: the keys must match pywb's byte for byte, or a lookup of a URL
//! in our index misses even though the capture is there.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::LazyLock;

use regex::bytes::Regex;

/// One index line's worth of facts about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdxjEntry {
    /// The record's `WARC-Target-URI`.
    pub url: String,
    /// 14-digit `YYYYMMDDhhmmss` from the record's `WARC-Date`.
    pub timestamp: String,
    /// The labelled payload digest as in `WARC-Payload-Digest` (pywb strips only `sha1:`).
    pub digest: String,
    /// The media type without parameters (`text/html`); ignored for revisits.
    pub mime: String,
    /// The HTTP status code; ignored for revisits.
    pub status: String,
    /// The WARC file's name, relative to the index's WARC directory.
    pub filename: String,
    /// Compressed offset of the record's gzip member.
    pub offset: u64,
    /// Compressed length of the record's gzip member.
    pub length: u64,
    /// `Some("revisit")` for revisit records; `None` for responses.
    pub record_type: Option<String>,
}

/// A CDXJ line for `e`, without a trailing newline.
///
/// Field names, order and string-typed values follow pywb's `cdx-indexer --cdxj`: `url`, `mime`,
/// `status`, `digest`, `length`, `offset`, `filename`. Like pywb, a revisit gets the mime type
/// `warc/revisit` and no status (pywb only takes the status from response records), and empty or
/// `-` values are left out.
pub fn cdxj_line(e: &CdxjEntry) -> String {
    let revisit = e.record_type.as_deref() == Some("revisit");
    let mime = if revisit { "warc/revisit" } else { e.mime.as_str() };
    let status = if revisit { "" } else { e.status.as_str() };
    // Written by hand rather than through a JSON map to get pywb's exact spacing
    // (`{"url": "…", "mime": …}`), so our lines are byte-identical to `cdx-indexer --cdxj`'s.
    let mut fields: Vec<String> = Vec::new();
    let mut put = |name: &str, value: &str| {
        if !value.is_empty() && value != "-" {
            fields.push(format!(
                "{}: {}",
                serde_json::Value::from(name),
                serde_json::Value::from(value)
            ));
        }
    };
    put("url", &e.url);
    put("mime", mime);
    put("status", status);
    put("digest", e.digest.strip_prefix("sha1:").unwrap_or(&e.digest));
    put("length", &e.length.to_string());
    put("offset", &e.offset.to_string());
    put("filename", &e.filename);
    if let Some(kind) = e.record_type.as_deref().filter(|_| !revisit) {
        // Anything that is neither a response nor a revisit is unusual enough to say so.
        put("type", kind);
    }
    format!("{} {} {{{}}}", surt(&e.url), e.timestamp, fields.join(", "))
}

/// `text/html` from `text/html; charset=utf-8`; `unk` when unknown, as pywb writes it: the
/// `mime` of a response's index line.
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unk".to_owned())
}

/// Merges `new_lines` into the CDXJ file at `path` (created if missing) and writes it back
/// atomically: a temporary file beside it, fsynced, then renamed over it.
///
/// The merge rule: existing and new lines are pooled, empty lines dropped, exact duplicates
/// removed, and the rest sorted byte-wise (the order pywb and `LC_ALL=C sort` use, which the
/// binary search of replay tools relies on). Lines are never rewritten, so two captures with the
/// same key and timestamp both stay; indexing the same record twice does not duplicate it.
///
/// Only `new_lines` are held in memory: the index, sorted as this function leaves it, is
/// streamed through a merge, so a run's cost is a read and a write of the index, whatever its
/// size. An index that turns out not to be sorted (edited by hand) is sorted whole instead.
pub fn merge_cdxj(path: &Path, new_lines: Vec<String>) -> io::Result<()> {
    let new = sorted_cdxj(new_lines);
    let existing = match fs::File::open(path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let merged = write_atomically(path, |out| match &existing {
        Some(file) => merge_sorted(io::BufReader::with_capacity(1 << 20, file), &new, out),
        None => write_lines(new.iter().map(String::as_str), out).map(|()| true),
    })?;
    if !merged {
        // The index was out of order: pool and sort everything.
        let text = fs::read_to_string(path)?;
        let pooled = text.lines().map(str::to_owned).chain(new);
        write_cdxj(path, &sorted_cdxj(pooled))?;
    }
    Ok(())
}

/// Lines in the order an index keeps them: each piece split at its newlines, a trailing CR
/// and blank lines dropped, exact duplicates removed, and the rest sorted byte-wise (the order
/// pywb and `LC_ALL=C sort` use, which the binary search of replay tools relies on).
pub fn sorted_cdxj(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut lines: Vec<String> = lines
        .into_iter()
        .flat_map(|l| l.lines().filter_map(clean_line).map(str::to_owned).collect::<Vec<_>>())
        .collect();
    // `String`'s `Ord` compares the UTF-8 bytes, which is exactly byte-wise order.
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Replaces the CDXJ file at `path` with `lines` (already in [`sorted_cdxj`] order), one per
/// line, atomically: a temporary file beside it, fsynced, then renamed over it.
pub fn write_cdxj(path: &Path, lines: &[String]) -> io::Result<()> {
    write_atomically(path, |out| {
        write_lines(lines.iter().map(String::as_str), out).map(|()| true)
    })
    .map(drop)
}

/// A line without its `\r`, or `None` if it is blank.
fn clean_line(line: &str) -> Option<&str> {
    let line = line.trim_end_matches('\r');
    (!line.trim().is_empty()).then_some(line)
}

/// Writes the merge of the sorted lines of `existing` and the sorted, distinct `new` to `out`,
/// each line once; returns `false`, having written an incomplete result, if `existing` turns
/// out not to be sorted.
fn merge_sorted(existing: impl io::BufRead, new: &[String], out: &mut dyn Write) -> io::Result<bool> {
    let mut new = new.iter().map(String::as_str).peekable();
    let mut last: Option<String> = None;
    for line in existing.lines() {
        let line = line?;
        let Some(line) = clean_line(&line) else { continue };
        if last.as_deref().is_some_and(|last| last > line) {
            return Ok(false);
        }
        while let Some(next) = new.next_if(|next| *next < line) {
            write_lines(std::iter::once(next), out)?;
        }
        new.next_if(|next| *next == line);
        if last.as_deref() != Some(line) {
            write_lines(std::iter::once(line), out)?;
        }
        last = Some(line.to_owned());
    }
    write_lines(new, out)?;
    Ok(true)
}

fn write_lines<'a>(lines: impl Iterator<Item = &'a str>, out: &mut dyn Write) -> io::Result<()> {
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes a new version of the file at `path` with `write` into a temporary file beside it,
/// then fsyncs and renames it over `path`, unless `write` returns `false`; returns what `write`
/// returned. No temporary file stays behind.
fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<bool>) -> io::Result<bool> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "index path has no file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{:08x}", name.to_string_lossy(), fastrand::u32(..)));
    let result = (|| -> io::Result<bool> {
        let mut file = io::BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?);
        if !write(&mut file)? {
            return Ok(false);
        }
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // The rename is only durable once the directory entry is; not possible on Windows.
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(true)
}

/// A parsed URL in the shape of the `surt` package's `handyurl`.
struct HandyUrl {
    scheme: Vec<u8>,
    host: Option<Vec<u8>>,
    port: Option<u32>,
    path: Option<Vec<u8>>,
    query: Option<Vec<u8>>,
}

static RE_HAS_PROTOCOL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9+\-.]*:").unwrap());
static RE_MULTIPLE_PROTOCOLS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(https?://)+").unwrap());
static RE_RFC2396: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s-u)^(([a-zA-Z][a-zA-Z0-9+.-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$").unwrap()
});
static RE_WWW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^www\d*\.").unwrap());
static RE_PATH_SESSION: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        Regex::new(r"(?is-u)^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^?]+\.aspx.*)$").unwrap(),
        Regex::new(r"(?is-u)^(.*/)(\([0-9a-z]{24}\)/)([^?]+\.aspx.*)$").unwrap(),
    ]
});
static RE_QUERY_SESSION: LazyLock<[Regex; 5]> = LazyLock::new(|| {
    [
        Regex::new(r"(?is-u)^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$").unwrap(),
        Regex::new(r"(?is-u)^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$").unwrap(),
        Regex::new(r"(?is-u)^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$").unwrap(),
        Regex::new(r"(?is-u)^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$").unwrap(),
        Regex::new(r"(?is-u)^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$").unwrap(),
    ]
});

/// The pywb / Internet Archive SURT key of `url`, e.g.
/// `http://www.apig.ch/Gaps%20r9%20clean.pdf` → `ch,apig)/gaps%20r9%20clean.pdf`.
///
/// Host reversed into comma-separated labels, lower case, a leading `www.` (or `www2.` …)
/// stripped, scheme, default port, user info and fragment dropped, path normalized and
/// lower-cased with a trailing slash removed, query lower-cased and its arguments sorted,
/// well-known session ids removed. Quirks of the Python package are kept on purpose (IP
/// addresses are reversed too; `%xx` escapes are decoded and re-encoded), since matching it
/// is the point.
pub fn surt(url: &str) -> String {
    if url.is_empty() {
        return "-".to_string();
    }
    if url.starts_with("filedesc") {
        return url.to_string();
    }
    let mut h = parse_handy(url.as_bytes());
    google_canonicalize(&mut h);
    ia_canonicalize(&mut h);

    let mut s: Vec<u8> = Vec::new();
    match &h.host {
        Some(host) if !host.is_empty() => {
            let mut labels: Vec<&[u8]> = host.split(|&b| b == b'.').collect();
            labels.reverse();
            s.extend_from_slice(&labels.join(&b','));
            if let Some(port) = h.port {
                s.extend_from_slice(format!(":{port}").as_bytes());
            }
            s.push(b')');
        }
        _ => {
            s.extend_from_slice(&h.scheme);
            s.push(b':');
        }
    }
    match &h.path {
        Some(path) if !path.is_empty() => s.extend_from_slice(path),
        _ if h.query.is_some() => s.push(b'/'),
        _ => {}
    }
    if let Some(query) = &h.query {
        s.push(b'?');
        s.extend_from_slice(query);
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// `handyurl.parse`: whitespace trimmed, a default `http://` added, repeated schemes collapsed,
/// then an RFC 2396 split with `urllib`'s hostname and port rules.
fn parse_handy(url: &[u8]) -> HandyUrl {
    let url = url.trim_ascii();
    let mut url: Vec<u8> = url
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\n' | b'\r' | b'\t'))
        .collect();
    if !url.is_empty() && !RE_HAS_PROTOCOL.is_match(&url) {
        url.splice(0..0, b"http://".iter().copied());
    }
    if let Some(caps) = RE_MULTIPLE_PROTOCOLS.captures(&url) {
        let whole = caps.get(0).map_or(0, |m| m.end());
        let last = caps.get(1).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
        url.splice(0..whole, last);
    }
    let caps = RE_RFC2396.captures(&url);
    let group = |i: usize| -> Vec<u8> {
        caps.as_ref()
            .and_then(|c| c.get(i))
            .map(|m| m.as_bytes().to_vec())
            .unwrap_or_default()
    };
    let scheme = group(2);
    let mut netloc = group(5);
    let path = group(6);
    let query = group(8);
    while netloc.last() == Some(&b':') {
        netloc.pop();
    }

    // urllib: the host info is what follows the last '@'; brackets delimit an IPv6 address.
    let hostinfo = match netloc.iter().rposition(|&b| b == b'@') {
        Some(at) => &netloc[at + 1..],
        None => &netloc[..],
    };
    let (hostname, port) = if let Some(open) = hostinfo.iter().position(|&b| b == b'[') {
        let bracketed = &hostinfo[open + 1..];
        let close = bracketed.iter().position(|&b| b == b']').unwrap_or(bracketed.len());
        let rest = bracketed.get(close + 1..).unwrap_or_default();
        let port = rest.iter().position(|&b| b == b':').map(|i| &rest[i + 1..]);
        (&bracketed[..close], port)
    } else {
        match hostinfo.iter().position(|&b| b == b':') {
            Some(i) => (&hostinfo[..i], Some(&hostinfo[i + 1..])),
            None => (hostinfo, None),
        }
    };
    let port = port
        .filter(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
        .and_then(|p| std::str::from_utf8(p).ok()?.parse::<u32>().ok())
        .filter(|&p| p != 0 && p <= 65535);
    let mut host = (!hostname.is_empty()).then(|| hostname.to_ascii_lowercase());
    let mut path = (!path.is_empty()).then_some(path);

    // "http:////www.example.com": the host ends up in the path.
    if scheme.starts_with(b"http")
        && host.is_none()
        && let Some(p) = &path
    {
        let trimmed: &[u8] = &p[p.iter().position(|&b| b != b'/').unwrap_or(p.len())..];
        let (h, rest) = match trimmed.iter().position(|&b| b == b'/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (trimmed, &b""[..]),
        };
        host = Some(h.to_vec());
        let mut new_path = b"/".to_vec();
        new_path.extend_from_slice(rest);
        path = Some(new_path);
    }

    HandyUrl {
        scheme,
        host,
        port,
        path,
        query: (!query.is_empty()).then_some(query),
    }
}

/// `GoogleURLCanonicalizer.canonicalize`.
fn google_canonicalize(h: &mut HandyUrl) {
    if let Some(query) = &h.query {
        h.query = Some(escape_once(&unescape_repeatedly(query)));
    }
    if let Some(host) = &h.host {
        let mut host = unescape_repeatedly(host);
        if !host.is_ascii() {
            // Python's 'idna' codec; the url crate applies IDNA (UTS #46) to special URLs' hosts.
            let text = String::from_utf8_lossy(&host).into_owned();
            if let Some(ascii) = url::Url::parse(&format!("http://{text}/"))
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
            {
                host = ascii.into_bytes();
            }
        }
        while let Some(i) = host.windows(2).position(|w| w == b"..") {
            host.remove(i);
        }
        let start = host.iter().position(|&b| b != b'.').unwrap_or(host.len());
        let end = host.iter().rposition(|&b| b != b'.').map_or(start, |i| i + 1);
        let host = host[start..end].to_vec();
        h.host = Some(match attempt_ip_formats(&host) {
            Some(ip) => ip.into_bytes(),
            None => escape_once(&host.to_ascii_lowercase()),
        });
    }
    let path = h.path.as_deref().map(unescape_repeatedly);
    let path = if h.host.is_some() {
        Some(normalize_path(path.as_deref()))
    } else {
        path
    };
    h.path = path.map(|p| escape_once(&p));
}

/// `IAURLCanonicalizer.canonicalize` with its defaults.
fn ia_canonicalize(h: &mut HandyUrl) {
    if let Some(host) = &mut h.host {
        host.make_ascii_lowercase();
        if let Some(m) = RE_WWW.find(host) {
            host.drain(..m.end());
        }
    }
    let default_port = match h.scheme.to_ascii_lowercase().as_slice() {
        b"http" => Some(80),
        b"https" => Some(443),
        _ => None,
    };
    if h.port.is_some() && h.port == default_port {
        h.port = None;
    }
    if let Some(path) = &h.path
        && !path.is_empty()
    {
        let mut path = path.to_ascii_lowercase();
        for re in RE_PATH_SESSION.iter() {
            if let Some(c) = re.captures(&path) {
                path = [c.get(1), c.get(3)]
                    .iter()
                    .flat_map(|m| m.map(|m| m.as_bytes().to_vec()).unwrap_or_default())
                    .collect();
            }
        }
        if path.len() > 1 && path.ends_with(b"/") {
            path.pop();
        }
        h.path = Some(path);
    }
    if let Some(query) = &h.query {
        let mut query = query.clone();
        for re in RE_QUERY_SESSION.iter() {
            if let Some(c) = re.captures(&query) {
                let mut stripped = c.get(1).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
                if let Some(rest) = c.get(2) {
                    stripped.extend_from_slice(rest.as_bytes());
                }
                query = stripped;
            }
        }
        query.make_ascii_lowercase();
        let query = alpha_reorder_query(&query);
        h.query = (!query.is_empty()).then_some(query);
    }
}

/// Sorts `&`-separated arguments as Python sorts `(name,)` / `(name, value)` tuples.
fn alpha_reorder_query(query: &[u8]) -> Vec<u8> {
    if query.len() <= 1 {
        return query.to_vec();
    }
    let mut args: Vec<(&[u8], Option<&[u8]>)> = query
        .split(|&b| b == b'&')
        .map(|arg| match arg.iter().position(|&b| b == b'=') {
            Some(i) => (&arg[..i], Some(&arg[i + 1..])),
            None => (arg, None),
        })
        .collect();
    // A 1-tuple sorts before a 2-tuple with the same first item, as `None < Some`.
    args.sort();
    let parts: Vec<Vec<u8>> = args
        .into_iter()
        .map(|(name, value)| match value {
            Some(value) => [name, b"=", value].concat(),
            None => name.to_vec(),
        })
        .collect();
    parts.join(&b'&')
}

/// `normalizePath`: resolves `.` and `..`, collapses empty segments, keeps a trailing slash.
fn normalize_path(path: Option<&[u8]>) -> Vec<u8> {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return b"/".to_vec();
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    for segment in path.split(|&b| b == b'/').skip(1) {
        match segment {
            b"." => {}
            b".." => {
                if kept.pop().is_none() {
                    kept.push(segment);
                }
            }
            _ => kept.push(segment),
        }
    }
    let mut out = b"/".to_vec();
    if let Some((last, init)) = kept.split_last() {
        for segment in init.iter().filter(|s| !s.is_empty()) {
            out.extend_from_slice(segment);
            out.push(b'/');
        }
        out.extend_from_slice(last);
    }
    out
}

/// `attemptIPFormats`: a host that is a number, or numbers in `inet_aton` notation, becomes a
/// dotted quad.
fn attempt_ip_formats(host: &[u8]) -> Option<String> {
    if host.is_empty() {
        return None;
    }
    if host.iter().all(u8::is_ascii_digit) {
        // Python masks to the low four bytes ("issue with liveweb arc files"); keep that.
        let value = std::str::from_utf8(host).ok()?.bytes().fold(0u64, |acc, d| {
            (acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))) & 0xffff_ffff
        });
        return Some(std::net::Ipv4Addr::from(value as u32).to_string());
    }
    let text = std::str::from_utf8(host).ok()?;
    let numeric = text
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || text.split('.').count() > 4 {
        return None;
    }
    inet_aton(text).map(|ip| ip.to_string())
}

/// The C library's `inet_aton`: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x).
fn inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<u64> = text
        .split('.')
        .map(|p| {
            if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
                u64::from_str_radix(hex, 16).ok()
            } else if p.len() > 1 && p.starts_with('0') {
                u64::from_str_radix(&p[1..], 8).ok()
            } else {
                p.parse().ok()
            }
        })
        .collect::<Option<_>>()?;
    let (last, init) = parts.split_last()?;
    if init.iter().any(|&p| p > 255) {
        return None;
    }
    let rest_bits = 8 * (4 - init.len() as u32);
    if *last >= 1u64 << rest_bits {
        return None;
    }
    let value = init
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, &p)| acc | (p << (24 - 8 * i)));
    Some(std::net::Ipv4Addr::from(value as u32))
}

/// `unquote_to_bytes` until nothing changes.
fn unescape_repeatedly(input: &[u8]) -> Vec<u8> {
    let mut current = input.to_vec();
    loop {
        let next = unquote(&current);
        if next == current {
            return current;
        }
        current = next;
    }
}

/// Decodes `%XX` escapes; malformed ones stay as they are.
fn unquote(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// `escapeOnce`: percent-encodes everything but printable ASCII, and `#` and `%` themselves.
fn escape_once(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for &b in input {
        if b > 0x20 && b < 0x7f && b != b'#' && b != b'%' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected keys were produced by the `surt` Python package 0.3 (`surt.surt(url)`), which is
    /// what pywb's `canonicalize` calls.
    #[test]
    fn surt_matches_the_python_package() {
        let cases = [
            (
                "http://www.apig.ch/Gaps%20r9%20clean.pdf",
                "ch,apig)/gaps%20r9%20clean.pdf",
            ),
            (
                "https://WWW.Example.COM:443/A/b?z=1&a=2#frag",
                "com,example)/a/b?a=2&z=1",
            ),
            ("http://example.com:80/", "com,example)/"),
            ("http://example.com:8080/x", "com,example:8080)/x"),
            ("https://example.com:80/x", "com,example:80)/x"),
            ("https://www2.example.com/", "com,example)/"),
            ("http://www.example.com", "com,example)/"),
            ("http://example.com/?b=2&a=1&a=0", "com,example)/?a=0&a=1&b=2"),
            ("http://example.com/?b&a=1&b=0&a", "com,example)/?a&a=1&b&b=0"),
            ("https://x.org/a%2fb?Q=A", "org,x)/a/b?q=a"),
            ("http://[::1]:8080/x", "::1:8080)/x"),
            ("http://127.0.0.1/x", "1,0,0,127)/x"),
            ("http://2130706433/", "1,0,0,127)/"),
            ("http://example.com/a b", "com,example)/a%20b"),
            (
                "http://www.ip-watch.org/2018/02/05/wgec/",
                "org,ip-watch)/2018/02/05/wgec",
            ),
            (
                "https://unctad.org/meeting/cstd?x=%20Y",
                "org,unctad)/meeting/cstd?x=%20y",
            ),
            ("http://example.com/a/./b/../c//d", "com,example)/a/c/d"),
            ("http://user:pw@Example.com/", "com,example)/"),
            ("example.com/path", "com,example)/path"),
            ("http://https://example.com/", "com,example)/"),
            ("http://example.com/?", "com,example)/"),
            ("http://wwwexample.com/", "com,wwwexample)/"),
            ("http://münchen.de/Straße", "de,xn--mnchen-3ya)/stra%c3%9fe"),
            ("http://example.com/%7Euser/", "com,example)/~user"),
            (
                "http://example.com/x?jsessionid=0123456789abcdef0123456789abcdef&a=1",
                "com,example)/x?a=1",
            ),
            ("http://example.com/x?a=1&b=%26c", "com,example)/x?a=1&b=&c"),
            ("http://EXAMPLE.com./x", "com,example)/x"),
            ("http://1.2/", "2,0,0,1)/"),
            ("http://010.0.0.1/", "1,0,0,8)/"),
            (
                "http://example.com/(abcdefghijklmnopqrstuvwx)/page.aspx?x=1",
                "com,example)/page.aspx?x=1",
            ),
            ("http://example.com#frag", "com,example)/"),
            ("http://example.com/a%25b", "com,example)/a%25b"),
            ("http://example.com/\"q\"<>", "com,example)/\"q\"<>"),
        ];
        for (url, expected) in cases {
            assert_eq!(surt(url), expected, "{url}");
        }
    }

    fn entry() -> CdxjEntry {
        CdxjEntry {
            url: "http://www.apig.ch/Gaps%20r9%20clean.pdf".into(),
            timestamp: "20260101020304".into(),
            digest: "sha256:XJ4BNP4PAHH6UQKBIDPF3LRCEOYAGYNDSYLXVHFUCD7WD4QACWWQ====".into(),
            mime: "application/pdf".into(),
            status: "200".into(),
            filename: "20260101T020304Z-ab12.warc.gz".into(),
            offset: 1234,
            length: 567,
            record_type: None,
        }
    }

    #[test]
    fn cdxj_line_has_pywb_shape() {
        let line = cdxj_line(&entry());
        assert_eq!(
            line,
            "ch,apig)/gaps%20r9%20clean.pdf 20260101020304 \
             {\"url\": \"http://www.apig.ch/Gaps%20r9%20clean.pdf\", \"mime\": \"application/pdf\", \
             \"status\": \"200\", \"digest\": \"sha256:XJ4BNP4PAHH6UQKBIDPF3LRCEOYAGYNDSYLXVHFUCD7WD4QACWWQ====\", \
             \"length\": \"567\", \"offset\": \"1234\", \"filename\": \"20260101T020304Z-ab12.warc.gz\"}"
        );
        assert!(!line.ends_with('\n'));
    }

    #[test]
    fn cdxj_line_marks_revisits_like_pywb() {
        let mut e = entry();
        e.record_type = Some("revisit".into());
        let line = cdxj_line(&e);
        let json: serde_json::Value = serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
        assert_eq!(json["mime"], "warc/revisit");
        assert!(json.get("status").is_none());
        assert_eq!(json["offset"], "1234");
    }

    #[test]
    fn merge_cdxj_dedups_exactly_and_sorts_bytewise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.cdxj");
        merge_cdxj(&path, vec!["org,b)/ 2 {}".into(), "com,a)/ 1 {}".into()]).unwrap();
        merge_cdxj(
            &path,
            vec![
                "com,a)/ 1 {}".into(),
                "com,a)/ 1 {\"x\":1}".into(),
                "com,a)/x 1 {}\ncom,a)/- 1 {}".into(),
                "".into(),
                "Com,Z)/ 1 {}".into(),
            ],
        )
        .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "Com,Z)/ 1 {}\ncom,a)/ 1 {\"x\":1}\ncom,a)/ 1 {}\ncom,a)/- 1 {}\ncom,a)/x 1 {}\norg,b)/ 2 {}\n"
        );
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn merge_cdxj_streams_a_sorted_index_and_sorts_an_unsorted_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.cdxj");
        // Duplicates inside the index and between the index and the new lines go.
        fs::write(&path, "a 1 {}\r\nb 1 {}\nb 1 {}\n\nd 1 {}\n").unwrap();
        merge_cdxj(
            &path,
            vec!["c 1 {}".into(), "b 1 {}".into(), "e 1 {}".into(), "0 1 {}".into()],
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "0 1 {}\na 1 {}\nb 1 {}\nc 1 {}\nd 1 {}\ne 1 {}\n"
        );
        // Edited by hand out of order: sorted whole.
        fs::write(&path, "d 1 {}\na 1 {}\nd 1 {}\n").unwrap();
        merge_cdxj(&path, vec!["b 1 {}".into()]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a 1 {}\nb 1 {}\nd 1 {}\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
