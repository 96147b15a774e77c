//! The settings one request runs under: the run's own, with those of the first `[[hosts]]`
//! rule matching the requested URL's host in their place. Every request is looked up anew
//! (a link's own, each redirect hop's, each retry's, a probe's), so a rule follows the host
//! actually requested, not the link it is on the way to.

use std::num::NonZeroUsize;
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::Url;

use super::download::BodyLimits;
use crate::config::hosts::HostRule;
use crate::config::{AcceptSet, NetworkConfig};

/// What a request to one URL runs under.
#[derive(Debug, Clone, Copy)]
pub struct RequestSettings<'a> {
    /// The rule that applies, and its position among the run's rules.
    pub rule: Option<(usize, &'a HostRule)>,
    /// Requests in flight to the host at a time.
    pub per_host: NonZeroUsize,
    /// The least time between the starts of two requests to the host.
    pub interval: Option<Duration>,
    /// Connect + headers, and the longest stall in a body.
    pub timeout: Duration,
    /// The longest a whole download may take.
    pub max_time: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Statuses counted as ok.
    pub accept: &'a AcceptSet,
    /// The `User-Agent` header.
    pub user_agent: &'a HeaderValue,
}

impl<'a> RequestSettings<'a> {
    /// The settings of a request to `url` under `config`.
    pub fn for_url(config: &'a NetworkConfig, url: &Url) -> Self {
        let rule = config.hosts.for_url(url);
        let r = rule.map(|(_, rule)| rule);
        Self {
            rule,
            per_host: r.and_then(|r| r.per_host).unwrap_or(config.per_host),
            interval: r.and_then(|r| r.interval),
            timeout: r.and_then(|r| r.timeout).unwrap_or(config.timeout),
            max_time: r.and_then(|r| r.max_time).unwrap_or(config.max_time),
            retries: r.and_then(|r| r.retries).unwrap_or(config.retries),
            accept: r.and_then(|r| r.accept.as_ref()).unwrap_or(&config.accept),
            user_agent: r.and_then(|r| r.user_agent.as_ref()).unwrap_or(&config.user_agent),
        }
    }

    /// The limits a body from this URL is read under; `max_size` is the run's (`--max-size`),
    /// which a caller may lower.
    pub fn body_limits(&self, max_size: u64) -> BodyLimits {
        BodyLimits {
            stall: self.timeout,
            max_time: self.max_time,
            max_size,
        }
    }
}

/// How a rule is named in messages: `the [[hosts]] rule for *.example.org (linkkeep.toml:12)`.
pub fn rule_name(rule: &HostRule) -> String {
    if rule.origin.is_empty() {
        format!("the [[hosts]] rule for {}", rule.describe())
    } else {
        format!("the [[hosts]] rule for {} ({})", rule.describe(), rule.origin)
    }
}
