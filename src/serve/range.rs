//! `Range` requests on captures (RFC 9110 §14): one byte range is answered with a 206, a range
//! past the end with a 416, anything else (no range, several ranges, a range that does not parse,
//! an `If-Range` that does not match) with the whole capture.

use std::ops::Range;

use axum::http::{HeaderMap, header};

/// What a request asks of a representation of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The whole representation.
    Whole,
    /// One range of bytes, never empty, within the representation.
    Part(Range<u64>),
    /// A range that starts past the end.
    Unsatisfiable,
}

/// What `request` asks of a representation of `size` bytes whose strong validator is `etag`.
pub fn wanted(request: &HeaderMap, size: u64, etag: &str) -> Wanted {
    let Some(range) = request.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Wanted::Whole;
    };
    // A client whose copy is not this one wants the whole, not a piece to splice into its copy.
    if let Some(if_range) = request.get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Wanted::Whole;
    }
    parse(range, size)
}

/// Parses a `Range` header value against a representation of `size` bytes.
fn parse(value: &str, size: u64) -> Wanted {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number =
        |s: &str| -> Option<u64> { (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())? };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => Wanted::Whole,
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if size == 0 => Wanted::Unsatisfiable,
            Some(suffix) => Wanted::Part(size.saturating_sub(suffix)..size),
        },
        (first, last) => {
            let Some(first) = number(first) else {
                return Wanted::Whole;
            };
            let last = match last {
                "" => None,
                last => match number(last) {
                    Some(last) if last >= first => Some(last),
                    _ => return Wanted::Whole,
                },
            };
            if first >= size {
                return Wanted::Unsatisfiable;
            }
            let end = last.map_or(size, |last| last.saturating_add(1).min(size));
            Wanted::Part(first..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse("bytes=0-9", 100), Wanted::Part(0..10));
        assert_eq!(parse("bytes=90-", 100), Wanted::Part(90..100));
        assert_eq!(parse("bytes=90-500", 100), Wanted::Part(90..100));
        assert_eq!(parse("bytes=-10", 100), Wanted::Part(90..100));
        assert_eq!(parse("bytes=-500", 100), Wanted::Part(0..100));
        assert_eq!(parse(" bytes= 5 - 5 ", 100), Wanted::Part(5..6));
    }

    #[test]
    fn past_the_end() {
        assert_eq!(parse("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=100-200", 100), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-1", 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn the_whole_for_anything_else() {
        for value in [
            "",
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=9-1",
            "bytes=a-1",
            "bytes=+1-2",
        ] {
            assert_eq!(parse(value, 100), Wanted::Whole, "{value:?}");
        }
    }

    #[test]
    fn if_range_must_match_the_etag() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, "bytes=0-0".parse().unwrap());
        assert_eq!(wanted(&headers, 10, "\"abc\""), Wanted::Part(0..1));
        headers.insert(header::IF_RANGE, "\"abc\"".parse().unwrap());
        assert_eq!(wanted(&headers, 10, "\"abc\""), Wanted::Part(0..1));
        headers.insert(header::IF_RANGE, "\"other\"".parse().unwrap());
        assert_eq!(wanted(&headers, 10, "\"abc\""), Wanted::Whole);
        headers.insert(header::IF_RANGE, "Wed, 01 Jan 2020 00:00:00 GMT".parse().unwrap());
        assert_eq!(wanted(&headers, 10, "\"abc\""), Wanted::Whole);
    }
}
