//! Per-host rules (`[[hosts]]` in linkkeep.toml): politeness, timeouts, headers and TLS or
//! proxy settings for the hosts a pattern matches. The first rule that matches a URL's host
//! decides, for every request to that host: a link's own, each redirect hop's, probes'.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::AcceptSet;

/// Which hosts a rule applies to.
#[derive(Debug, Clone)]
pub enum HostPattern {
    /// One host name or address, in the form the URL parser gives it (lower case, IDNA, IPv6
    /// in brackets), and optionally one port.
    Exact { host: String, port: Option<u16> },
    /// `*.example.org`: every host name ending in `.example.org` (not `example.org` itself,
    /// as in TLS certificates and cookies), optionally on one port.
    Subdomains { suffix: String, port: Option<u16> },
    /// A regular expression matched against the host name alone (no port), as the URL parser
    /// gives it.
    Regex(Regex),
}

impl HostPattern {
    /// Parses `example.org`, `example.org:8080`, `*.example.org` or `[::1]:80`; names are
    /// normalised as the URL parser normalises hosts (so `Bücher.example` matches its punycode
    /// form in a URL).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (wildcard, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if rest.is_empty() || rest.contains(['*', '/', '?', '#', '@']) {
            return Err(format!(
                "`{text}` is not a host pattern: write a host (`example.org`, `example.org:8080`), \
                 `*.example.org` for its subdomains, or use `host_regex`"
            ));
        }
        let url = Url::parse(&format!("http://{rest}/")).map_err(|e| format!("`{text}` is not a host: {e}"))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port();
        Ok(if wildcard {
            Self::Subdomains {
                suffix: format!(".{host}"),
                port,
            }
        } else {
            Self::Exact { host, port }
        })
    }

    /// Whether `url`'s host (and port, when the pattern names one) matches.
    pub fn matches(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default();
        let port_ok = |port: &Option<u16>| port.is_none_or(|p| url.port_or_known_default() == Some(p));
        match self {
            Self::Exact { host: h, port } => host.eq_ignore_ascii_case(h) && port_ok(port),
            Self::Subdomains { suffix, port } => {
                host.len() > suffix.len()
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                    && port_ok(port)
            }
            Self::Regex(re) => re.is_match(host),
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let port = |p: &Option<u16>| p.map(|p| format!(":{p}")).unwrap_or_default();
        match self {
            Self::Exact { host, port: p } => write!(f, "{host}{}", port(p)),
            Self::Subdomains { suffix, port: p } => write!(f, "*{suffix}{}", port(p)),
            Self::Regex(re) => write!(f, "/{}/", re.as_str()),
        }
    }
}

/// What a rule's `exclude` skips.
#[derive(Debug, Clone)]
pub enum HostExclusion {
    /// `exclude = true`: every URL on the matching hosts.
    All,
    /// `exclude = ["regex", …]`: the URLs on the matching hosts that match one of these.
    Matching(Vec<Regex>),
}

/// One `[[hosts]]` rule, validated. A setting left out (`None`, or empty) falls back to the
/// run's own (flags, then the top level of the configuration files, then the default).
#[derive(Debug, Clone, Default)]
pub struct HostRule {
    /// Where the rule was written (`path:line`), for messages.
    pub origin: String,
    /// The hosts it applies to: any of these.
    pub patterns: Vec<HostPattern>,
    /// Requests in flight to one matching host at a time.
    pub per_host: Option<NonZeroUsize>,
    /// The least time between the starts of two requests to one matching host, across the run.
    pub interval: Option<Duration>,
    /// Connect + headers, and the longest stall in a body.
    pub timeout: Option<Duration>,
    /// The longest a whole download may take.
    pub max_time: Option<Duration>,
    /// Retries after the first attempt.
    pub retries: Option<u32>,
    /// Statuses counted as ok.
    pub accept: Option<AcceptSet>,
    /// The `User-Agent` header.
    pub user_agent: Option<HeaderValue>,
    /// Headers sent to matching hosts only (besides the run's own headers, replacing any of
    /// the same name). Values from environment variables are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The same headers as they may be shown (`linkkeep config`): templates as written
    /// (`Bearer ${TOKEN}`), other credentials redacted.
    pub shown_headers: Vec<(HeaderName, String)>,
    /// The proxy for requests to matching hosts, whatever their scheme.
    pub proxy: Option<Url>,
    /// Skip TLS verification for matching hosts.
    pub insecure: Option<bool>,
    /// Extra trusted root certificates (PEM) for matching hosts, besides the run's own.
    pub ca_cert: Vec<PathBuf>,
    /// What is skipped on matching hosts.
    pub exclude: Option<HostExclusion>,
}

impl HostRule {
    /// Whether the rule applies to `url`'s host.
    pub fn matches(&self, url: &Url) -> bool {
        self.patterns.iter().any(|p| p.matches(url))
    }

    /// Whether requests under this rule need their own HTTP client (another proxy or other TLS
    /// trust than the run's).
    pub fn needs_own_client(&self) -> bool {
        self.proxy.is_some() || self.insecure.is_some() || !self.ca_cert.is_empty()
    }

    /// The patterns, for messages: `*.example.org, example.org`.
    pub fn describe(&self) -> String {
        let patterns: Vec<String> = self.patterns.iter().map(ToString::to_string).collect();
        patterns.join(", ")
    }
}

/// The rules of a run, in the order written (project file first, then the user's).
#[derive(Debug, Clone, Default)]
pub struct HostRules(pub Vec<HostRule>);

impl HostRules {
    /// The first rule matching `url`'s host, and its position.
    pub fn for_url(&self, url: &Url) -> Option<(usize, &HostRule)> {
        self.0.iter().enumerate().find(|(_, rule)| rule.matches(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn exact_hosts_match_any_port_unless_one_is_named() {
        let any = HostPattern::parse("Unctad.org").unwrap();
        assert!(any.matches(&url("https://unctad.org/a")));
        assert!(any.matches(&url("http://UNCTAD.org:8080/")));
        assert!(!any.matches(&url("https://www.unctad.org/")));
        let one = HostPattern::parse("127.0.0.1:8080").unwrap();
        assert!(one.matches(&url("http://127.0.0.1:8080/")));
        assert!(!one.matches(&url("http://127.0.0.1:8081/")));
        let default_port = HostPattern::parse("example.org:443").unwrap();
        assert!(default_port.matches(&url("https://example.org/")));
        let v6 = HostPattern::parse("[::1]").unwrap();
        assert!(v6.matches(&url("http://[::1]:3000/")));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let pattern = HostPattern::parse("*.unctad.org").unwrap();
        assert!(pattern.matches(&url("https://www.unctad.org/x")));
        assert!(pattern.matches(&url("https://a.b.unctad.org/x")));
        assert!(!pattern.matches(&url("https://unctad.org/x")));
        assert!(!pattern.matches(&url("https://notunctad.org/x")));
        assert_eq!(pattern.to_string(), "*.unctad.org");
    }

    #[test]
    fn names_are_normalised_like_urls() {
        let pattern = HostPattern::parse("bücher.example").unwrap();
        assert!(pattern.matches(&url("http://xn--bcher-kva.example/")));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["", "*", "www.*.org", "example.org/path", "user@example.org", "*."] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rule = |pattern: &str, retries| HostRule {
            patterns: vec![HostPattern::parse(pattern).unwrap()],
            retries: Some(retries),
            ..HostRule::default()
        };
        let rules = HostRules(vec![
            rule("www.unctad.org", 1),
            rule("*.unctad.org", 2),
            HostRule {
                patterns: vec![HostPattern::Regex(Regex::new("^(www\\.)?twn\\.my$").unwrap())],
                retries: Some(3),
                ..HostRule::default()
            },
        ]);
        let retries = |u: &str| rules.for_url(&url(u)).map(|(_, r)| r.retries.unwrap());
        assert_eq!(retries("https://www.unctad.org/"), Some(1));
        assert_eq!(retries("https://unctad.org/"), None);
        assert_eq!(retries("https://docs.unctad.org/"), Some(2));
        assert_eq!(retries("https://twn.my/"), Some(3));
        assert_eq!(retries("https://evil-twn.my/"), None);
    }
}
