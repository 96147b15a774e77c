//! The Wayback Machine's CDX API (<https://github.com/internetarchive/wayback/tree/master/wayback-cdx-server>):
//! the query for a link's latest capture answered with 200 (at or before a date, or at all),
//! and the answer read and checked before anything of it reaches a report.
//!
//! # The query
//! `<endpoint>/cdx/search/cdx?url=<url>&output=json&fl=timestamp,original,statuscode&filter=statuscode:200&limit=-1`,
//! and for "at or before" `…&to=<yyyyMMddhhmmss>&limit=-2`: `limit=-1` implies the server's
//! `fastLatest` shortcut, which with `to` has been seen to answer a capture years older than
//! the latest before the date (remy/unrot.link#7); `limit=-2` reads the range properly, and
//! the latest of its rows is taken.
//!
//! # The answer
//! A JSON array of rows of strings, the first row naming the fields (`[]` when there is no
//! capture). The answer comes from outside: a capture is taken only with a 14-digit timestamp
//! that is a date, and an http(s) `original` without control or bidirectional formatting
//! characters on the link's own site (the archive's canonical form drops `www.` and the
//! scheme); any other row refuses the whole answer.

use chrono::{DateTime, NaiveDateTime, Utc};
use url::Url;

use super::{PublicArchive, PublicCopy};

/// The CDX API's path under the archive's address.
const CDX_PATH: [&str; 3] = ["cdx", "search", "cdx"];
/// The fields asked for, in the order of the answer's rows.
const FIELDS: &str = "timestamp,original,statuscode";
/// The format of the archive's timestamps: `yyyyMMddhhmmss`, UTC.
const TIMESTAMP_FORMAT: &str = "%Y%m%d%H%M%S";

/// A capture the archive lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// When: 14 digits, `yyyyMMddhhmmss` UTC.
    pub timestamp: String,
    /// The URL captured, as the archive recorded it.
    pub original: Url,
}

impl Capture {
    /// The copy a reader can open: `<endpoint>/web/<timestamp>/<original>`, captured at the
    /// timestamp (RFC 3339 UTC).
    pub fn copy(&self, archive: PublicArchive, endpoint: &Url) -> PublicCopy {
        let base = endpoint.as_str().trim_end_matches('/');
        let url = format!("{base}/web/{}/{}", self.timestamp, self.original);
        let at = parse_timestamp(&self.timestamp).expect("a capture's timestamp was checked when read");
        PublicCopy::found(archive, url, crate::report::timestamp(at))
    }
}

/// Why an answer of the CDX API was not taken.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is not a CDX API JSON table")]
    NotJson(#[source] serde_json::Error),
    #[error("the answer's header row does not name the fields timestamp, original and statuscode")]
    Fields,
    #[error("the answer has a row whose fields are not strings")]
    Row,
    #[error("the answer lists a capture whose timestamp is not a 14-digit date")]
    Timestamp,
    #[error("the answer lists a capture whose URL is not an http(s) URL")]
    Original,
    #[error("the answer lists a capture whose URL holds control or formatting characters")]
    Unprintable,
    #[error("the answer lists a capture of another site")]
    OtherSite,
}

/// The archive's timestamp of `at`: `yyyyMMddhhmmss`, UTC.
pub fn wayback_timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// A 14-digit archive timestamp as a time, if it is one.
fn parse_timestamp(timestamp: &str) -> Option<DateTime<Utc>> {
    if timestamp.len() != 14 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(timestamp, TIMESTAMP_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// The query for the latest capture of `link` answered with 200: at or before `to` (an
/// archive timestamp) when given, else of all.
pub fn query_url(endpoint: &Url, link: &Url, to: Option<&str>) -> Url {
    let mut query = endpoint.clone();
    query.set_query(None);
    query.set_fragment(None);
    if let Ok(mut path) = query.path_segments_mut() {
        path.pop_if_empty().extend(CDX_PATH);
    }
    {
        let mut pairs = query.query_pairs_mut();
        pairs
            .append_pair("url", without_fragment(link).as_str())
            .append_pair("output", "json")
            .append_pair("fl", FIELDS)
            .append_pair("filter", "statuscode:200");
        match to {
            Some(to) => pairs.append_pair("to", to).append_pair("limit", "-2"),
            None => pairs.append_pair("limit", "-1"),
        };
    }
    query
}

/// `url` without its fragment, which no request sends and no capture has: two links to
/// sections of one page are one lookup.
pub fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// Reads an answer to [`query_url`] for `link`: the latest capture it lists answered with 200
/// (at or before `to`, when given), or `None` when it lists none.
pub fn read_answer(body: &[u8], link: &Url, to: Option<&str>) -> Result<Option<Capture>, AnswerError> {
    let table: Vec<Vec<serde_json::Value>> = serde_json::from_slice(body).map_err(AnswerError::NotJson)?;
    let mut rows = table.into_iter().filter(|row| !row.is_empty());
    let Some(header) = rows.next() else {
        return Ok(None);
    };
    let column = |name: &str| header.iter().position(|field| field.as_str() == Some(name));
    let (Some(timestamp_at), Some(original_at), Some(status_at)) =
        (column("timestamp"), column("original"), column("statuscode"))
    else {
        return Err(AnswerError::Fields);
    };
    let mut latest: Option<Capture> = None;
    for row in rows {
        let field = |at: usize| row.get(at).and_then(|v| v.as_str()).ok_or(AnswerError::Row);
        let (timestamp, original, status) = (field(timestamp_at)?, field(original_at)?, field(status_at)?);
        parse_timestamp(timestamp).ok_or(AnswerError::Timestamp)?;
        let original = checked_original(original, link)?;
        // The filter asked for these alone; an archive that ignored it is not taken at its word.
        let wanted = status == "200" && to.is_none_or(|to| timestamp <= to);
        // Equal-length digit strings compare as the times they stand for.
        if wanted && latest.as_ref().is_none_or(|l| l.timestamp.as_str() < timestamp) {
            latest = Some(Capture {
                timestamp: timestamp.to_owned(),
                original,
            });
        }
    }
    Ok(latest)
}

/// A capture's URL, if it is a printable http(s) URL on the site of `link`.
fn checked_original(original: &str, link: &Url) -> Result<Url, AnswerError> {
    if original.chars().any(crate::report::is_unsafe_on_terminal) {
        return Err(AnswerError::Unprintable);
    }
    let url = Url::parse(original).map_err(|_| AnswerError::Original)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(AnswerError::Original);
    }
    if site(&url) != site(link) {
        return Err(AnswerError::OtherSite);
    }
    Ok(url)
}

/// A URL's host as the archive's canonical form (SURT) compares hosts: lower case, without a
/// leading `www.` (or `www2.`, …).
fn site(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let Some(rest) = host.strip_prefix("www") else {
        return host;
    };
    match rest.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix('.') {
        Some(bare) if !bare.is_empty() => bare.to_owned(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn queries_ask_for_the_latest_200_at_or_before_a_date() {
        let endpoint = url("https://web.archive.org");
        let link = url("https://example.org/a?b=c&d=e#section");
        let latest = query_url(&endpoint, &link, None);
        assert_eq!(
            latest.as_str(),
            "https://web.archive.org/cdx/search/cdx?url=https%3A%2F%2Fexample.org%2Fa%3Fb%3Dc%26d%3De\
             &output=json&fl=timestamp%2Coriginal%2Cstatuscode&filter=statuscode%3A200&limit=-1"
        );
        let before = query_url(&url("http://127.0.0.1:9/base/"), &link, Some("20180302120000"));
        assert_eq!(before.path(), "/base/cdx/search/cdx");
        let pairs: Vec<(String, String)> = before.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("to".into(), "20180302120000".into())), "{pairs:?}");
        assert!(pairs.contains(&("limit".into(), "-2".into())), "{pairs:?}");
        assert!(
            pairs.contains(&("url".into(), "https://example.org/a?b=c&d=e".into())),
            "{pairs:?}"
        );
    }

    #[test]
    fn the_latest_capture_answered_with_200_is_taken() {
        let link = url("https://www.example.org/page");
        let answer = br#"[["timestamp","original","statuscode"],
            ["20170101000000","https://www.example.org/page","200"],
            ["20190101000000","http://example.org:80/page","200"],
            ["20200101000000","https://example.org/page","404"],
            ["20180101000000","https://example.org/page","200"]]"#;
        let capture = read_answer(answer, &link, None).unwrap().unwrap();
        assert_eq!(capture.timestamp, "20190101000000");
        assert_eq!(capture.original.as_str(), "http://example.org/page");
        let before = read_answer(answer, &link, Some("20181231235959")).unwrap().unwrap();
        assert_eq!(before.timestamp, "20180101000000");
        let copy = before.copy(PublicArchive::Wayback, &url("https://web.archive.org/"));
        assert_eq!(
            copy.url.as_deref(),
            Some("https://web.archive.org/web/20180101000000/https://example.org/page")
        );
        assert_eq!(copy.timestamp.as_deref(), Some("2018-01-01T00:00:00Z"));
        assert_eq!(copy.archive, "wayback");
    }

    #[test]
    fn no_capture_is_none() {
        let link = url("https://example.org/");
        assert_eq!(read_answer(b"[]", &link, None).unwrap(), None);
        assert_eq!(
            read_answer(br#"[["timestamp","original","statuscode"]]"#, &link, None).unwrap(),
            None
        );
        // Fields in another order are found by name.
        let reordered = br#"[["statuscode","timestamp","original"],["200","20200101000000","https://example.org/"]]"#;
        assert!(read_answer(reordered, &link, Some("20100101000000")).unwrap().is_none());
        assert!(read_answer(reordered, &link, None).unwrap().is_some());
    }

    #[test]
    fn hostile_or_garbled_answers_are_refused() {
        let link = url("https://example.org/page");
        let answer = |timestamp: &str, original: &str| {
            serde_json::to_vec(&serde_json::json!([
                ["timestamp", "original", "statuscode"],
                [timestamp, original, "200"]
            ]))
            .unwrap()
        };
        let refused = |body: &[u8]| read_answer(body, &link, None).unwrap_err();
        assert!(matches!(refused(b"<html>busy</html>"), AnswerError::NotJson(_)));
        assert!(matches!(refused(br#"[["a","b"],["1","2"]]"#), AnswerError::Fields));
        assert!(matches!(
            refused(br#"[["timestamp","original","statuscode"],[1,2,3]]"#),
            AnswerError::Row
        ));
        assert!(matches!(
            refused(&answer("2019", "https://example.org/page")),
            AnswerError::Timestamp
        ));
        assert!(matches!(
            refused(&answer("20191399000000", "https://example.org/page")),
            AnswerError::Timestamp
        ));
        assert!(matches!(
            refused(&answer("20190101000000", "javascript:alert(1)")),
            AnswerError::Original
        ));
        assert!(matches!(
            refused(&answer("20190101000000", "/relative")),
            AnswerError::Original
        ));
        assert!(matches!(
            refused(&answer("20190101000000", "https://example.org/\u{1b}]0;x\u{7}")),
            AnswerError::Unprintable
        ));
        assert!(matches!(
            refused(&answer("20190101000000", "https://example.org/\u{202e}gpj.exe")),
            AnswerError::Unprintable
        ));
        assert!(matches!(
            refused(&answer("20190101000000", "https://evil.example/page")),
            AnswerError::OtherSite
        ));
    }

    #[test]
    fn sites_compare_as_the_archive_canonicalizes_hosts() {
        assert_eq!(site(&url("https://WWW.Example.org/")), "example.org");
        assert_eq!(site(&url("http://www2.example.org/")), "example.org");
        assert_eq!(site(&url("http://wwwexample.org/")), "wwwexample.org");
        assert_eq!(site(&url("http://www/")), "www");
        assert_eq!(site(&url("http://127.0.0.1:8080/")), "127.0.0.1");
    }

    #[test]
    fn timestamps_are_fourteen_digits_of_utc() {
        let at = DateTime::parse_from_rfc3339("2018-03-02T04:05:06Z").unwrap().to_utc();
        assert_eq!(wayback_timestamp(at), "20180302040506");
        assert_eq!(parse_timestamp("20180302040506"), Some(at));
        assert_eq!(parse_timestamp("2018030204050"), None);
        assert_eq!(parse_timestamp("2018030204050x"), None);
    }
}
