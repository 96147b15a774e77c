//! The Wayback-style request target: `/web/<timestamp>[id_]/<original URL>` or
//! `/web/<original URL>`, and the 14-digit timestamps that name captures.

use chrono::{DateTime, Utc};

use crate::manifest::Snapshot;

/// The format of a capture's timestamp in URLs, as on the Wayback Machine.
const TIMESTAMP_FORMAT: &str = "%Y%m%d%H%M%S";

/// What the part of a request after `/web/` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebTarget {
    /// A capture nearest a time (a Memento).
    Memento {
        /// The requested timestamp, 4 to 14 digits as sent.
        timestamp: String,
        /// The `id_` modifier: the stored bytes, never rewritten.
        raw: bool,
        /// The original URL.
        url: String,
    },
    /// No timestamp: the TimeGate for the original URL.
    TimeGate {
        /// The original URL.
        url: String,
    },
}

impl WebTarget {
    /// Parses the request target after `/web/`, taken raw (with its query string).
    pub fn parse(rest: &str) -> Self {
        if let Some((head, url)) = rest.split_once('/') {
            let (timestamp, raw) = match head.strip_suffix("id_") {
                Some(digits) => (digits, true),
                None => (head, false),
            };
            if !timestamp.is_empty() && timestamp.len() <= 14 && timestamp.bytes().all(|b| b.is_ascii_digit()) {
                return Self::Memento {
                    timestamp: timestamp.to_owned(),
                    raw,
                    url: original_url(url),
                };
            }
        }
        Self::TimeGate {
            url: original_url(rest),
        }
    }
}

/// The original URL from a request path, undoing the collapse of `//` into `/` that some clients
/// and proxies apply to paths (`http:/example.org/` means `http://example.org/`).
pub fn original_url(text: &str) -> String {
    if let Some((scheme, rest)) = text.split_once(":/") {
        let is_web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        if is_web && !rest.starts_with('/') {
            return format!("{scheme}://{rest}");
        }
    }
    text.to_owned()
}

/// The time a requested timestamp names: 4 to 14 digits, padded like the Wayback Machine does.
pub fn parse_timestamp(digits: &str) -> Option<DateTime<Utc>> {
    crate::manifest::parse_time(digits).ok()
}

/// A capture's timestamp in URLs: its `first_seen` as `YYYYMMDDhhmmss`.
pub fn capture_timestamp(snapshot: &Snapshot) -> Option<String> {
    first_seen(snapshot).map(|t| t.format(TIMESTAMP_FORMAT).to_string())
}

/// When a capture was first seen, which is its Memento-Datetime.
pub fn first_seen(snapshot: &Snapshot) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&snapshot.first_seen)
        .ok()
        .map(|t| t.to_utc())
}

/// An HTTP date (IMF-fixdate), as in `Memento-Datetime`.
pub fn http_date(at: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(at.into())
}

/// `url` made safe inside a header value or a `<…>` of link-format: bytes that may not appear
/// there (controls, space, non-ASCII, `<`, `>`, `"`) are percent-encoded. Anything a client can
/// send in a request line is left as it is, so a URL that came from a request comes back intact.
pub fn header_safe(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for &b in url.as_bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_with_and_without_timestamps() {
        assert_eq!(
            WebTarget::parse("20200101000000/http://a.example/x?q=%20"),
            WebTarget::Memento {
                timestamp: "20200101000000".into(),
                raw: false,
                url: "http://a.example/x?q=%20".into()
            }
        );
        assert_eq!(
            WebTarget::parse("2020id_/http:/a.example/"),
            WebTarget::Memento {
                timestamp: "2020".into(),
                raw: true,
                url: "http://a.example/".into()
            }
        );
        assert_eq!(
            WebTarget::parse("https://a.example/2020/x"),
            WebTarget::TimeGate {
                url: "https://a.example/2020/x".into()
            }
        );
        // Not a timestamp: too long, or a modifier without digits.
        assert!(matches!(
            WebTarget::parse("202001010000001/http://a/"),
            WebTarget::TimeGate { .. }
        ));
        assert!(matches!(WebTarget::parse("id_/http://a/"), WebTarget::TimeGate { .. }));
    }

    #[test]
    fn collapsed_slashes_are_restored_for_web_urls_only() {
        assert_eq!(original_url("http:/a.example/"), "http://a.example/");
        assert_eq!(original_url("HTTPS:/a.example/"), "HTTPS://a.example/");
        assert_eq!(original_url("http://a.example/"), "http://a.example/");
        assert_eq!(original_url("file:/etc/passwd"), "file:/etc/passwd");
    }

    #[test]
    fn header_safe_urls() {
        assert_eq!(header_safe("http://a/b%20c?d=e&f"), "http://a/b%20c?d=e&f");
        assert_eq!(header_safe("http://a/b c>\"é"), "http://a/b%20c%3E%22%C3%A9");
    }

    #[test]
    fn http_dates() {
        let at = DateTime::parse_from_rfc3339("2020-01-02T03:04:05Z").unwrap().to_utc();
        assert_eq!(http_date(at), "Thu, 02 Jan 2020 03:04:05 GMT");
    }
}
