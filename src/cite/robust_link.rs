//! The three attributes that make an HTML link a Robust Link
//! (<https://robustlinks.mementoweb.org/spec/>): `data-originalurl`, `data-versiondate` and
//! `data-versionurl`, as unescaped values; the callers escape them for where they write them.
//!
//! - `data-versiondate`: the date of the cited capture, `YYYY-MM-DD` in UTC (the spec reads a
//!   date as noon UTC of that day).
//! - `data-versionurl`: each archived copy's absolute http(s) URI followed by its datetime,
//!   `YYYY-MM-DDThh:mm:ssZ`, all separated by single spaces. A copy whose capture time is not
//!   known is listed without one, which the spec's grammar allows.

use super::{Citation, date, datetime};

/// The Robust Link attributes of a citation, when it has a cited version (the spec requires
/// `data-versiondate`). `versionurl` is `None` when no copy of it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobustLink {
    /// `data-originalurl`: the cited URL, normalised.
    pub original: String,
    /// `data-versiondate`: the cited capture's date.
    pub version_date: String,
    /// `data-versionurl`: the copies and their datetimes.
    pub version_url: Option<String>,
}

impl RobustLink {
    /// The attributes for `citation`, or `None` when it cites no capture.
    pub fn of(citation: &Citation) -> Option<Self> {
        let version = citation.version.as_ref()?;
        let tokens: Vec<String> = version
            .copies
            .iter()
            .flat_map(|copy| std::iter::once(copy.url.clone()).chain(copy.captured.map(datetime)))
            .collect();
        // The cited URL as a URI (the `url` crate's serialisation is ASCII: an IRI's host in
        // punycode, its other characters percent-encoded), as the spec asks.
        let original = url::Url::parse(citation.url.trim()).map_or_else(|_| citation.url.clone(), String::from);
        Some(Self {
            original,
            version_date: date(version.captured),
            version_url: (!tokens.is_empty()).then(|| tokens.join(" ")),
        })
    }

    /// The attributes as `(name, value)` pairs, in the spec's order.
    pub fn attributes(&self) -> Vec<(&'static str, &str)> {
        let mut attributes = vec![
            ("data-originalurl", self.original.as_str()),
            ("data-versiondate", self.version_date.as_str()),
        ];
        if let Some(version_url) = &self.version_url {
            attributes.push(("data-versionurl", version_url));
        }
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cite::tests::{at, cited, without_copies};

    #[test]
    fn versionurl_pairs_each_copy_with_its_datetime() {
        let robust = RobustLink::of(&cited("a", "http://A.example")).unwrap();
        assert_eq!(robust.original, "http://a.example/");
        assert_eq!(robust.version_date, "2018-03-01");
        assert_eq!(
            robust.version_url.as_deref(),
            Some(
                "http://127.0.0.1:8080/web/20180301102030/http://A.example 2018-03-01T10:20:30Z \
                 https://web.archive.org/web/20180302000000/http://A.example 2018-03-02T00:00:00Z"
            )
        );
        let names: Vec<&str> = robust.attributes().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["data-originalurl", "data-versiondate", "data-versionurl"]);
    }

    #[test]
    fn a_copy_without_a_time_is_listed_alone_and_no_copy_means_no_versionurl() {
        let mut citation = cited("a", "http://a.example/");
        citation.version.as_mut().unwrap().copies[1].captured = None;
        let robust = RobustLink::of(&citation).unwrap();
        assert!(
            robust
                .version_url
                .unwrap()
                .ends_with(" https://web.archive.org/web/20180302000000/http://a.example/")
        );
        let bare = RobustLink::of(&without_copies("a", "http://a.example/")).unwrap();
        assert_eq!(bare.attributes().len(), 2);
        let mut never = cited("a", "http://a.example/");
        never.version = None;
        assert_eq!(RobustLink::of(&never), None);
        // The date is the capture's in UTC.
        never.version = cited("a", "http://a.example/").version;
        never.version.as_mut().unwrap().captured = at("2018-03-01T23:30:00-05:00");
        assert_eq!(RobustLink::of(&never).unwrap().version_date, "2018-03-02");
    }
}
