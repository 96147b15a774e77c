//! `--shard K/N`: which links one of N cooperating runs takes (issue #18).
//!
//! A link belongs to shard `K` of `N` when the SHA-256 of its host's key, its first 8 bytes
//! read as a big-endian integer, is `K` modulo `N`. The key is the host's registrable domain
//! (eTLD+1 by the Public Suffix List, private section included), so `www.unctad.org`,
//! `unctad.org` and `a.b.unctad.org` land on one shard while `x.github.io` and `y.github.io`
//! may not; an IP address, or a name with no registrable domain (`localhost`, a single label,
//! a public suffix itself), is its own key. Keys are lower case, in ASCII (IDNA), without a
//! trailing dot, and IPv6 addresses without brackets.
//!
//! Every site thus lives on exactly one shard, so each run's `--per-host` limit is the whole
//! limit that site sees, however many machines share the list. The hash is SHA-256 rather than
//! std's `Hasher` because the assignment must be the same on every machine, platform and
//! linkkeep version: N machines started from one list must agree on who takes what. What can
//! move a site is the Public Suffix List itself, when a later release lists a new suffix
//! above it: shard runs that share one list should run the same linkkeep version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use url::{Host, Url};

/// One shard of N: `index` from 0 to `count - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// A shard that cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("shard {text:?}: expected K/N, e.g. 0/4 (K counts from 0)")]
    Shape { text: String },
    #[error("shard {index}/{count}: N must be at least 1")]
    NoShards { index: u32, count: u32 },
    #[error("shard {index}/{count}: K must be below N (shards are numbered from 0 to N-1)")]
    OutOfRange { index: u32, count: u32 },
}

impl Shard {
    /// Shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards { index, count });
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    /// K, from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// N, at least 1.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether the link `url` belongs to this shard. A URL without a host (none of links.json's
    /// http(s) URLs) has the empty key.
    pub fn holds(&self, url: &Url) -> bool {
        self.holds_host(url.host_str().unwrap_or_default())
    }

    /// Whether a link to `host` belongs to this shard. `host` as a URL writes it: a name (any
    /// case, Unicode or IDNA, a trailing dot or not), an IPv4 address, an IPv6 address in
    /// brackets or not.
    pub fn holds_host(&self, host: &str) -> bool {
        shard_of(&shard_key(host), self.count) == self.index
    }

    /// Whether the URL written as `url` belongs to this shard (a manifest entry's URL, say). Text
    /// that does not parse as a URL is its own key, so that it still lands on exactly one shard.
    pub fn holds_text(&self, url: &str) -> bool {
        match Url::parse(url.trim()) {
            Ok(parsed) => self.holds(&parsed),
            Err(_) => shard_of(url, self.count) == self.index,
        }
    }

    /// A name for what belongs to this shard alone (its lease, its lock): `shard-1-of-4`.
    pub fn lease_suffix(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

/// The key `host` is sharded by: its registrable domain, else the whole host (see the module
/// documentation).
pub fn shard_key(host: &str) -> String {
    let bare = host.trim();
    let parsed = Host::parse(bare).or_else(|_| {
        // An IPv6 address written without its brackets.
        match bare.parse::<std::net::Ipv6Addr>() {
            Ok(addr) => Ok(Host::Ipv6(addr)),
            Err(_) => Err(()),
        }
    });
    match parsed {
        Ok(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            psl::domain_str(name).unwrap_or(name).to_owned()
        }
        Ok(Host::Ipv4(addr)) => addr.to_string(),
        Ok(Host::Ipv6(addr)) => addr.to_string(),
        // Not a host a URL could hold: its text, in one case.
        Err(()) => bare.trim_end_matches('.').to_lowercase(),
    }
}

/// The shard of `count` that `key` hashes to: the first 8 bytes of its SHA-256, big-endian,
/// modulo `count`.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// Parses `K/N`: two decimal numbers, K from 0.
    fn from_str(text: &str) -> Result<Self, ShardError> {
        let shape = || ShardError::Shape { text: text.to_owned() };
        let (index, count) = text.trim().split_once('/').ok_or_else(shape)?;
        let number = |part: &str| {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(shape());
            }
            part.parse::<u32>().map_err(|_| shape())
        };
        Self::new(number(index)?, number(count)?)
    }
}

/// As `"K/N"`, in the JSON report.
impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From `"K/N"`: the JSON report, and `shard = "K/N"` in linkkeep.toml.
impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Shard {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_shows_k_of_n() {
        assert_eq!(shard("1/4"), Shard::new(1, 4).unwrap());
        assert_eq!(shard(" 0/1 ").to_string(), "0/1");
        assert_eq!(shard("3/4").lease_suffix(), "shard-3-of-4");
        assert_eq!((shard("2/7").index(), shard("2/7").count()), (2, 7));
    }

    #[test]
    fn bad_shards_are_refused_saying_why() {
        let error = |text: &str| text.parse::<Shard>().unwrap_err().to_string();
        assert_eq!(
            error("4/4"),
            "shard 4/4: K must be below N (shards are numbered from 0 to N-1)"
        );
        assert_eq!(error("0/0"), "shard 0/0: N must be at least 1");
        for text in [
            "",
            "3",
            "1/",
            "/4",
            "a/4",
            "1/b",
            "-1/4",
            "+1/4",
            "1/4/2",
            "1.0/4",
            "99999999999/4",
        ] {
            assert!(error(text).contains("expected K/N"), "{text:?}: {}", error(text));
        }
    }

    #[test]
    fn subdomains_of_a_site_share_its_key() {
        for host in [
            "unctad.org",
            "www.unctad.org",
            "a.b.unctad.org",
            "WWW.UNCTAD.ORG",
            "unctad.org.",
        ] {
            assert_eq!(shard_key(host), "unctad.org", "{host}");
        }
        // Multi-label public suffixes, and the private section of the list.
        assert_eq!(shard_key("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(shard_key("x.github.io"), "x.github.io");
        assert_eq!(shard_key("y.github.io"), "y.github.io");
        assert_eq!(shard_key("docs.x.github.io"), "x.github.io");
        // Unicode names as IDNA, as the url crate writes them.
        assert_eq!(shard_key("www.bücher.de"), "xn--bcher-kva.de");
        assert_eq!(shard_key("xn--bcher-kva.de"), "xn--bcher-kva.de");
        // A TLD not on the list still has registrable domains below it (the `*` rule).
        assert_eq!(shard_key("a.h1.test"), "h1.test");
    }

    #[test]
    fn hosts_without_a_registrable_domain_are_their_own_key() {
        assert_eq!(shard_key("localhost"), "localhost");
        assert_eq!(shard_key("LocalHost."), "localhost");
        assert_eq!(shard_key("intranet"), "intranet");
        assert_eq!(shard_key("co.uk"), "co.uk");
        assert_eq!(shard_key("github.io"), "github.io");
        assert_eq!(shard_key("127.0.0.1"), "127.0.0.1");
        assert_eq!(shard_key("[::1]"), "::1");
        assert_eq!(shard_key("::1"), "::1");
        assert_eq!(shard_key("[2001:DB8::1]"), "2001:db8::1");
    }

    /// The assignment is part of the contract between machines and versions: these must never
    /// change. Each is the first 8 bytes of SHA-256 of the host's key, big-endian (as
    /// `printf %s KEY | sha256sum | cut -c1-16` prints them), and that modulo 4.
    #[test]
    fn assignments_are_pinned() {
        let pinned = [
            ("www.unctad.org", 0x5f02_6509_07cc_2cb9_u64, 1),
            ("news.bbc.co.uk", 0x46d5_7108_73dd_e63d, 1),
            ("x.github.io", 0x4203_9612_afe4_a113, 3),
            ("y.github.io", 0x17ee_df87_82a6_7306, 2),
            ("127.0.0.1", 0x12ca_17b4_9af2_2894, 0),
            ("[::1]", 0xeff8_e7ca_5066_27fe, 2),
            ("localhost", 0x4996_0de5_880e_8c68, 0),
        ];
        for (host, first, expected) in pinned {
            let key = shard_key(host);
            let digest = Sha256::digest(key.as_bytes());
            assert_eq!(u64::from_be_bytes(digest[..8].try_into().unwrap()), first, "{host}");
            assert_eq!(shard_of(&key, 4), expected, "{host}");
            for k in 0..4 {
                assert_eq!(
                    Shard::new(k, 4).unwrap().holds_host(host),
                    k == expected,
                    "{host} on {k}/4"
                );
            }
        }
    }

    #[test]
    fn urls_and_hosts_agree() {
        let url = Url::parse("https://www.unctad.org/publications?x=1").unwrap();
        let n = 4;
        let of_url: Vec<bool> = (0..n).map(|k| Shard::new(k, n).unwrap().holds(&url)).collect();
        assert_eq!(
            of_url.iter().filter(|&&held| held).count(),
            1,
            "exactly one shard holds it"
        );
        for k in 0..n {
            let shard = Shard::new(k, n).unwrap();
            assert_eq!(shard.holds_host("unctad.org"), of_url[k as usize]);
            assert_eq!(shard.holds_text("http://a.b.UNCTAD.org./"), of_url[k as usize]);
        }
        // One shard of one holds everything, whatever it is.
        let all = Shard::new(0, 1).unwrap();
        assert!(all.holds(&url) && all.holds_host("[::1]") && all.holds_text("not a url"));
    }
}
