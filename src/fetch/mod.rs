//! The one fetch engine shared by every command that talks to the network: the shared client,
//! politeness limits, retries with backoff and `Retry-After`, and redirects followed hop by hop.
//!
//! [`Fetcher::fetch`] never fails: whatever happens to a link ends up in a [`Fetched`] value.
//! What to do with an accepted response's body is the caller's business (a closure), so that
//! `check` can stop after the headers while `archive` streams the body to disk, both under
//! the same permits, timeouts and retry rules. Each request runs under the settings of its
//! host: the run's, or those of the `[[hosts]]` rule matching it ([`settings`]); a body handler
//! reads its body under [`Fetcher::body_limits`] of the URL it got.

pub mod address;
pub mod client;
pub mod download;
mod errors;
pub mod politeness;
pub mod resolve;
pub mod retry;
pub mod settings;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LOCATION, USER_AGENT};
use reqwest::{Response, StatusCode};
use tokio::time::Instant;
use url::Url;

use address::AddressClass;
use client::RunClients;
pub use client::{ClientError, Clients};
pub use download::BodyLimits;
pub use errors::describe as describe_error;
use politeness::{HostPolicy, Limits};
use resolve::PrivateAddress;
pub use settings::RequestSettings;
use settings::rule_name;

use crate::config::NetworkConfig;
use crate::config::hosts::HostExclusion;
use crate::outcome::{Outcome, RedirectHop};

/// Why reading a body failed. Returned by the caller's body handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// No bytes arrived for longer than `--timeout`.
    #[error("the body stalled for more than {} s", secs(*.0))]
    Stalled(Duration),
    /// The whole download took longer than `--max-time`.
    #[error("the download took longer than --max-time {} s", secs(*.0))]
    Deadline(Duration),
    /// The body is larger than `--max-size`.
    #[error("the body is larger than --max-size ({0} bytes)")]
    TooLarge(u64),
    /// The connection failed or the body was cut short.
    #[error("{0}")]
    Network(String),
}

impl BodyError {
    fn outcome(&self) -> Outcome {
        match self {
            Self::Stalled(_) | Self::Deadline(_) => Outcome::Timeout,
            Self::TooLarge(_) => Outcome::TooLarge,
            Self::Network(_) => Outcome::NetworkError,
        }
    }
}

/// Seconds for messages: `30`, `0.5`.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

/// What became of one link.
#[derive(Debug)]
pub struct Fetched<T> {
    /// How it fared.
    pub outcome: Outcome,
    /// The status of the final response, if one arrived.
    pub http_status: Option<StatusCode>,
    /// The last URL requested.
    pub final_url: Url,
    /// Every redirect followed.
    pub redirects: Vec<RedirectHop>,
    /// Requests made, retries included.
    pub attempts: u32,
    /// Time from the first request to the end.
    pub elapsed: Duration,
    /// The final response's headers, if one arrived.
    pub headers: Option<HeaderMap>,
    /// What the body handler returned, for an accepted response.
    pub body: Option<T>,
    /// A one-line explanation when `outcome` is not ok.
    pub error: Option<String>,
}

impl<T> Fetched<T> {
    /// A header of the final response as text, if it arrived and is printable.
    pub fn header(&self, name: reqwest::header::HeaderName) -> Option<String> {
        let value = self.headers.as_ref()?.get(name)?;
        value.to_str().ok().map(str::to_owned)
    }
}

/// A failed attempt, and whether it is worth another.
struct Failure {
    outcome: Outcome,
    message: String,
    status: Option<StatusCode>,
    headers: Option<HeaderMap>,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(outcome: Outcome, message: String, retryable: bool) -> Self {
        Self {
            outcome,
            message,
            status: None,
            headers: None,
            retryable,
            retry_after: None,
        }
    }
}

/// How one hop (one URL, possibly after retries) ended.
enum Hop<T> {
    Redirect {
        status: StatusCode,
        location: Option<String>,
        /// The address the request was answered from, when connected directly.
        remote: Option<SocketAddr>,
    },
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Option<T>,
    },
    Failed(Failure),
}

/// What to do with responses: the accepted final one, and every other.
struct Handlers<F, O> {
    accepted: F,
    other: O,
}

/// The `on_other` of [`Fetcher::fetch`]: drop the response unread.
async fn discard(_response: Response) {}

/// Per-link bookkeeping across hops and retries.
struct Tally {
    attempts: u32,
    first_request: Option<Instant>,
}

impl Tally {
    /// A [`Fetched`] with this tally and no response; callers fill in what they have.
    fn ending<T>(&self, outcome: Outcome, final_url: Url, redirects: Vec<RedirectHop>) -> Fetched<T> {
        Fetched {
            outcome,
            http_status: None,
            final_url,
            redirects,
            attempts: self.attempts,
            elapsed: self.first_request.map(|t| t.elapsed()).unwrap_or_default(),
            headers: None,
            body: None,
            error: None,
        }
    }
}

/// Fetches links politely through shared clients.
#[derive(Debug)]
pub struct Fetcher {
    clients: RunClients,
    limits: Limits,
    config: NetworkConfig,
}

impl Fetcher {
    /// A fetcher with the clients, limits, timeouts and retry rules of `config`, and of its
    /// `[[hosts]]` rules for the hosts they match.
    pub fn new(config: NetworkConfig) -> Result<Self, ClientError> {
        Ok(Self {
            clients: RunClients::new(&config)?,
            limits: Limits::new(config.concurrency),
            config,
        })
    }

    /// The settings a request to `url` runs under: the run's, or its host's rule's.
    pub fn settings(&self, url: &Url) -> RequestSettings<'_> {
        RequestSettings::for_url(&self.config, url)
    }

    /// The limits a body from `url` (the URL requested: `Response::url`) is read under: its
    /// host's timeout (as the stall) and `max_time`, and `--max-size`.
    pub fn body_limits(&self, url: &Url) -> BodyLimits {
        self.settings(url).body_limits(self.config.max_size)
    }

    /// The clients requests to `url` go through.
    fn clients_for(&self, url: &Url) -> &Clients {
        self.clients
            .for_rule(self.config.hosts.for_url(url).map(|(index, _)| index))
    }

    /// How many request slots (`--concurrency`) are free now.
    pub fn free_slots(&self) -> usize {
        self.limits.free_slots()
    }

    /// The configuration this fetcher runs with.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Fetches `url` with GET, following redirects and retrying transient failures.
    ///
    /// `extra_headers` are added to every request (conditional headers, for instance; a 304 is
    /// then accepted). For an accepted final response, `on_response` gets the response and the
    /// download's deadline (`--max-time`, or its host rule's, after the request was sent) and
    /// reads as much of the body as it wants while the politeness permit is still held, under
    /// [`Fetcher::body_limits`]; its errors are retried like connection errors, except
    /// [`BodyError::TooLarge`].
    pub async fn fetch<T, F, Fut>(&self, url: &Url, extra_headers: &HeaderMap, on_response: F) -> Fetched<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
    {
        self.fetch_observed(url, extra_headers, on_response, discard).await
    }

    /// Like [`Fetcher::fetch`], and every other response (redirects, errors, responses that
    /// will be retried) goes to `on_other` before the engine moves on, e.g. to be recorded in
    /// a WARC file. The politeness permit is held meanwhile.
    pub async fn fetch_observed<T, F, Fut, O, OFut>(
        &self,
        url: &Url,
        extra_headers: &HeaderMap,
        on_response: F,
        on_other: O,
    ) -> Fetched<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
        O: Fn(Response) -> OFut,
        OFut: Future<Output = ()>,
    {
        self.fetch_for(url, url, None, extra_headers, on_response, on_other)
            .await
    }

    /// Fetches `url`, a requisite of the page at `page` (its stylesheet, image, script, frame),
    /// as [`Fetcher::fetch_observed`] does, on the page's behalf: each request gets the headers
    /// a redirect hop of the page would (so `-H` credentials go to the page's own origin, not to
    /// every host the page names), and no hop, the first one included, may go into a more
    /// private address class than the page's own (unless `--allow-private`): a hostile page
    /// cannot reach into the user's network through an `<img src>`.
    pub async fn fetch_requisite<T, F, Fut, O, OFut>(
        &self,
        page: &Url,
        url: &Url,
        extra_headers: &HeaderMap,
        on_response: F,
        on_other: O,
    ) -> Fetched<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
        O: Fn(Response) -> OFut,
        OFut: Future<Output = ()>,
    {
        let own = match self.config.allow_private {
            true => None,
            false => Some(self.own_class(page, None).await),
        };
        self.fetch_for(page, url, own, extra_headers, on_response, on_other)
            .await
    }

    /// Fetches `url` on the way to `link` (the same URL for a link; the page for a requisite),
    /// with `own`, the class of the link's address, when it is known before the first request.
    async fn fetch_for<T, F, Fut, O, OFut>(
        &self,
        link: &Url,
        url: &Url,
        mut own: Option<AddressClass>,
        extra_headers: &HeaderMap,
        on_response: F,
        on_other: O,
    ) -> Fetched<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
        O: Fn(Response) -> OFut,
        OFut: Future<Output = ()>,
    {
        let handlers = Handlers {
            accepted: on_response,
            other: on_other,
        };
        let mut tally = Tally {
            attempts: 0,
            first_request: None,
        };
        let mut redirects = Vec::new();
        let mut current = url.clone();
        // A requisite's own URL is checked as a redirect target is: an address literal is
        // connected to without the guarded resolver.
        if let Some(own) = own
            && let Some(refused) = self.private_hop(url, own).await
        {
            return Fetched {
                error: Some(format!("refused: {refused}")),
                ..tally.ending(Outcome::NetworkError, current, redirects)
            };
        }
        // `own`: the class of the link's own address, once a redirect needs it.
        loop {
            let headers = self.request_headers(link, &current, extra_headers);
            match self.fetch_hop(&current, own, &headers, &handlers, &mut tally).await {
                Hop::Response { status, headers, body } => {
                    let error = body.is_none().then(|| describe_status(status));
                    let outcome = if body.is_some() {
                        Outcome::Ok
                    } else {
                        Outcome::HttpError
                    };
                    return Fetched {
                        http_status: Some(status),
                        headers: Some(headers),
                        body,
                        error,
                        ..tally.ending(outcome, current, redirects)
                    };
                }
                Hop::Failed(f) => {
                    return Fetched {
                        http_status: f.status,
                        headers: f.headers,
                        error: Some(f.message),
                        ..tally.ending(f.outcome, current, redirects)
                    };
                }
                Hop::Redirect {
                    status,
                    location,
                    remote,
                } => {
                    let mut next = self.follow(&current, status, location, &mut redirects);
                    if let (Ok(target), false) = (&next, self.config.allow_private) {
                        let own = match own {
                            Some(own) => own,
                            None => *own.insert(self.own_class(link, remote).await),
                        };
                        if let Some(refused) = self.private_hop(target, own).await {
                            next = Err(format!("redirect refused: {refused}"));
                        }
                    }
                    match next {
                        Ok(next) => current = next,
                        Err(message) => {
                            return Fetched {
                                http_status: Some(status),
                                error: Some(message),
                                ..tally.ending(Outcome::RedirectError, current, redirects)
                            };
                        }
                    }
                }
            }
        }
    }

    /// Records a redirect and decides where it leads, or why it cannot be followed.
    fn follow(
        &self,
        current: &Url,
        status: StatusCode,
        location: Option<String>,
        redirects: &mut Vec<RedirectHop>,
    ) -> Result<Url, String> {
        let location = location.ok_or_else(|| format!("HTTP {} without a Location header", status.as_u16()))?;
        redirects.push(RedirectHop {
            status: status.as_u16(),
            url: current.to_string(),
            location: location.clone(),
        });
        let next = current
            .join(&location)
            .map_err(|e| format!("invalid Location {location:?}: {e}"))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(format!("redirect to a non-http(s) URL: {next}"));
        }
        if let Some(why) = self.exclusion(next.as_str()) {
            return Err(format!("redirect to {next}, which {why}"));
        }
        // Every URL requested so far answered with one of the recorded redirects (the first one
        // included), so a loop is a next URL already among them; the list is short.
        if redirects.iter().any(|hop| hop.url == next.as_str()) {
            return Err(format!("redirect loop: {current} leads back to {next}"));
        }
        if redirects.len() > self.config.max_redirects {
            return Err(format!("too many redirects (more than {})", self.config.max_redirects));
        }
        Ok(next)
    }

    /// The headers of a request for `current` on the way to `link`: `-H` headers, then those
    /// of `current`'s host rule (its `user_agent` and `headers`, each replacing a `-H` header
    /// of the same name), then the caller's. As curl does, `Authorization` and `Cookie` given
    /// with `-H` go only to the link's own origin (scheme, host and port): a redirect
    /// elsewhere must not carry the user's credentials to whoever the cited site points at. A
    /// rule's headers go to the hosts it matches, and only there, whatever the link.
    pub fn request_headers(&self, link: &Url, current: &Url, extra: &HeaderMap) -> HeaderMap {
        let same_origin = link.origin() == current.origin();
        let rule = self.config.hosts.for_url(current).map(|(_, rule)| rule);
        let rule_headers = rule.map(|r| r.headers.as_slice()).unwrap_or_default();
        let rule_user_agent = rule
            .and_then(|r| r.user_agent.as_ref())
            .filter(|_| !rule_headers.iter().any(|(name, _)| name == USER_AGENT));
        let replaced = |name: &reqwest::header::HeaderName| {
            rule_headers.iter().any(|(n, _)| n == name) || (rule_user_agent.is_some() && name == USER_AGENT)
        };
        let mut headers = HeaderMap::with_capacity(self.config.headers.len() + rule_headers.len() + extra.len() + 1);
        for (name, value) in &self.config.headers {
            if (same_origin || !CREDENTIALS.contains(name)) && !replaced(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(user_agent) = rule_user_agent {
            headers.insert(USER_AGENT, user_agent.clone());
        }
        for (name, value) in rule_headers {
            headers.append(name.clone(), value.clone());
        }
        for (name, value) in extra {
            headers.append(name.clone(), value.clone());
        }
        headers
    }

    /// The class of a link's own address: the address its first request was answered from,
    /// or, through a proxy (which resolves names itself), the least private address its host
    /// resolves to here. A host that cannot be resolved here counts as public, the strictest.
    async fn own_class(&self, url: &Url, remote: Option<SocketAddr>) -> AddressClass {
        if let Some(remote) = remote.filter(|_| !self.clients_for(url).proxied(url)) {
            return AddressClass::of(remote.ip());
        }
        let addrs = self.addresses(url).await;
        AddressClass::least_private(addrs.into_iter().map(AddressClass::of)).unwrap_or(AddressClass::Public)
    }

    /// Why a redirect to `target` is refused under a link of class `own`, as far as can be told
    /// before connecting: an address literal, or a name a proxy will resolve (looked up here;
    /// the proxy may get another answer, which only a rule on the proxy itself could stop). A
    /// name connected to directly is checked as it is connected to, by the client's resolver.
    async fn private_hop(&self, target: &Url, own: AddressClass) -> Option<PrivateAddress> {
        let host = target.host_str().unwrap_or_default();
        let addrs = match target.host() {
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => self.addresses(target).await,
            Some(url::Host::Domain(_)) if self.clients_for(target).proxied(target) => self.addresses(target).await,
            _ => Vec::new(),
        };
        addrs
            .into_iter()
            .find_map(|addr| PrivateAddress::check(host, addr, own))
    }

    /// The addresses a URL's host stands for: its literal, or what it resolves to (nothing
    /// when it cannot be resolved).
    async fn addresses(&self, url: &Url) -> Vec<std::net::IpAddr> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![ip.into()],
            Some(url::Host::Ipv6(ip)) => vec![ip.into()],
            Some(url::Host::Domain(name)) => self.clients_for(url).overrides().lookup(name).await.unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Requests one URL, retrying transient failures with backoff or as `Retry-After` asks.
    /// `own` is the class of the link's own address on a redirect hop, `None` on the first.
    async fn fetch_hop<T, F, Fut, O, OFut>(
        &self,
        url: &Url,
        own: Option<AddressClass>,
        extra: &HeaderMap,
        handlers: &Handlers<F, O>,
        tally: &mut Tally,
    ) -> Hop<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
        O: Fn(Response) -> OFut,
        OFut: Future<Output = ()>,
    {
        let retries = self.settings(url).retries;
        let mut retry = 0;
        loop {
            tally.attempts += 1;
            let mut failure = match self.attempt(url, own, extra, handlers, tally).await {
                Hop::Failed(failure) => failure,
                done => return done,
            };
            if !failure.retryable {
                return Hop::Failed(failure);
            }
            if let Some(wait) = failure.retry_after.filter(|w| *w > self.config.max_retry_after) {
                failure.message = format!(
                    "{}; the server asked to retry after {} s, longer than --max-retry-after {} s",
                    failure.message,
                    secs(wait),
                    secs(self.config.max_retry_after)
                );
                return Hop::Failed(failure);
            }
            if retry >= retries {
                if tally.attempts > 1 {
                    failure.message = format!("{} (after {} attempts)", failure.message, tally.attempts);
                }
                return Hop::Failed(failure);
            }
            let wait = failure
                .retry_after
                .unwrap_or_else(|| retry::backoff(self.config.retry_wait, retry));
            tracing::info!(url = %url, "{}; retrying in {} s", failure.message, secs(wait));
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    /// One request, holding a politeness permit until the body handler is done.
    async fn attempt<T, F, Fut, O, OFut>(
        &self,
        url: &Url,
        own: Option<AddressClass>,
        extra: &HeaderMap,
        handlers: &Handlers<F, O>,
        tally: &mut Tally,
    ) -> Hop<T>
    where
        F: Fn(Response, Instant) -> Fut,
        Fut: Future<Output = Result<T, BodyError>>,
        O: Fn(Response) -> OFut,
        OFut: Future<Output = ()>,
    {
        let settings = self.settings(url);
        let (client, fallback) = match self.clients_for(url).route(url, own) {
            Ok(clients) => clients,
            Err(message) => return Hop::Failed(Failure::new(Outcome::NetworkError, message, false)),
        };
        let policy = HostPolicy {
            per_host: settings.per_host,
            interval: settings.interval,
        };
        let _permit = self.limits.acquire(url, policy).await;
        let sent = Instant::now();
        tally.first_request.get_or_insert(sent);
        let deadline = sent + settings.max_time;
        let headers_within = settings.timeout.min(settings.max_time);
        let send = |client: &reqwest::Client| {
            let request = client.get(url.clone()).headers(extra.clone()).send();
            tokio::time::timeout(headers_within, request)
        };
        let mut sent_as = send(client).await;
        // A link's own name turned out to be private: no connection was made, and the link
        // may go there.
        if let (Ok(Err(e)), Some(fallback)) = (&sent_as, fallback)
            && resolve::refusal(e).is_some()
        {
            sent_as = send(fallback).await;
        }
        let response = match sent_as {
            Err(_) => {
                let message = format!("no response within {} s", secs(headers_within));
                return Hop::Failed(Failure::new(Outcome::Timeout, message, true));
            }
            Ok(Err(e)) => {
                if let Some(refused) = resolve::refusal(&e) {
                    let message = format!("redirect refused: {refused}");
                    return Hop::Failed(Failure::new(Outcome::RedirectError, message, false));
                }
                let described = errors::describe(&e);
                return Hop::Failed(Failure::new(described.outcome, described.message, described.retryable));
            }
            Ok(Ok(response)) => response,
        };

        let status = response.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let location = response
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let remote = response.remote_addr();
            (handlers.other)(response).await;
            return Hop::Redirect {
                status,
                location,
                remote,
            };
        }
        let conditional = extra.contains_key(IF_NONE_MATCH) || extra.contains_key(IF_MODIFIED_SINCE);
        let accepted = settings.accept.contains(status.as_u16()) || (conditional && status == StatusCode::NOT_MODIFIED);
        let headers = response.headers().clone();
        if !accepted {
            (handlers.other)(response).await;
            if retry::is_retryable_status(status) {
                return Hop::Failed(Failure {
                    outcome: Outcome::HttpError,
                    message: describe_status(status),
                    status: Some(status),
                    retry_after: retry::retry_after(&headers, SystemTime::now()),
                    headers: Some(headers),
                    retryable: true,
                });
            }
            return Hop::Response {
                status,
                headers,
                body: None,
            };
        }
        match (handlers.accepted)(response, deadline).await {
            Ok(body) => Hop::Response {
                status,
                headers,
                body: Some(body),
            },
            Err(e) => Hop::Failed(Failure {
                outcome: e.outcome(),
                message: e.to_string(),
                status: Some(status),
                headers: Some(headers),
                retryable: !matches!(e, BodyError::TooLarge(_)),
                retry_after: None,
            }),
        }
    }
}

/// Headers that carry credentials, sent only to a link's own origin.
const CREDENTIALS: [reqwest::header::HeaderName; 2] = [reqwest::header::AUTHORIZATION, reqwest::header::COOKIE];

/// Whether a request header's value is a secret, never written down (WARC request records,
/// reports, logs): credentials, proxy credentials, and values marked sensitive (those the
/// configuration took from environment variables).
pub fn is_secret_header(name: &reqwest::header::HeaderName, value: &reqwest::header::HeaderValue) -> bool {
    value.is_sensitive() || CREDENTIALS.contains(name) || name == reqwest::header::PROXY_AUTHORIZATION
}

/// `HTTP 404 Not Found`.
fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

impl Fetcher {
    /// Why `url` is skipped under `--include`/`--exclude` or its host rule's `exclude`, or
    /// `None` when it is fetched.
    pub fn exclusion(&self, url: &str) -> Option<String> {
        let config = &self.config;
        if !config.include.is_empty() && !config.include.iter().any(|re| re.is_match(url)) {
            return Some("matches no --include pattern".into());
        }
        if let Some(re) = config.exclude.iter().find(|re| re.is_match(url)) {
            return Some(format!("matches --exclude {}", re.as_str()));
        }
        let parsed = Url::parse(url).ok()?;
        let (_, rule) = config.hosts.for_url(&parsed)?;
        match rule.exclude.as_ref()? {
            HostExclusion::All => Some(format!("matches the exclude of {}", rule_name(rule))),
            HostExclusion::Matching(patterns) => patterns
                .iter()
                .find(|re| re.is_match(url))
                .map(|re| format!("matches the exclude {} of {}", re.as_str(), rule_name(rule))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use regex::Regex;
    use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

    use super::*;
    use crate::config::AcceptSet;
    use crate::config::hosts::{HostPattern, HostRule, HostRules};

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn rule(pattern: &str) -> HostRule {
        HostRule {
            origin: "linkkeep.toml:3".into(),
            patterns: vec![HostPattern::parse(pattern).unwrap()],
            ..HostRule::default()
        }
    }

    fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
        (HeaderName::from_static(name), HeaderValue::from_static(value))
    }

    fn fetcher(run_headers: Vec<(HeaderName, HeaderValue)>, rules: Vec<HostRule>) -> Fetcher {
        Fetcher::new(NetworkConfig {
            headers: run_headers,
            hosts: HostRules(rules),
            ..NetworkConfig::default()
        })
        .unwrap()
    }

    /// The values of `name` in `headers`, as text.
    fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn rule_headers_go_to_the_hosts_the_rule_matches_and_nowhere_else() {
        let fetcher = fetcher(
            vec![header("x-run", "run"), header("x-both", "from the run")],
            vec![HostRule {
                headers: vec![header("x-both", "from the rule"), header("x-token", "t")],
                user_agent: Some(HeaderValue::from_static("ruled-agent")),
                ..rule("*.ruled.example")
            }],
        );
        let link = url("https://www.ruled.example/doc");
        let none = HeaderMap::new();

        let own = fetcher.request_headers(&link, &link, &none);
        assert_eq!(values(&own, "x-run"), ["run"]);
        assert_eq!(
            values(&own, "x-both"),
            ["from the rule"],
            "the rule replaces a run header"
        );
        assert_eq!(values(&own, "x-token"), ["t"]);
        assert_eq!(values(&own, "user-agent"), ["ruled-agent"]);

        // A redirect to another host the rule does not match drops the rule's headers.
        let elsewhere = fetcher.request_headers(&link, &url("https://plain.example/doc"), &none);
        assert_eq!(values(&elsewhere, "x-both"), ["from the run"]);
        assert!(values(&elsewhere, "x-token").is_empty());
        assert!(
            values(&elsewhere, "user-agent").is_empty(),
            "the client's default applies"
        );

        // A redirect to another host the rule matches keeps them, and so does a link elsewhere
        // redirected there.
        let sibling = fetcher.request_headers(&link, &url("https://docs.ruled.example/"), &none);
        assert_eq!(values(&sibling, "x-token"), ["t"]);
        let from_plain = fetcher.request_headers(&url("https://plain.example/"), &link, &none);
        assert_eq!(values(&from_plain, "x-token"), ["t"]);
    }

    #[test]
    fn credentials_follow_the_link_for_run_headers_and_the_host_for_rule_headers() {
        let fetcher = fetcher(
            vec![(AUTHORIZATION, HeaderValue::from_static("Bearer run"))],
            vec![HostRule {
                headers: vec![(AUTHORIZATION, HeaderValue::from_static("Bearer rule"))],
                ..rule("api.example")
            }],
        );
        let none = HeaderMap::new();
        let plain = url("https://plain.example/");
        let api = url("https://api.example/");
        assert_eq!(
            values(&fetcher.request_headers(&plain, &plain, &none), "authorization"),
            ["Bearer run"]
        );
        let redirected = fetcher.request_headers(&plain, &url("https://other.example/"), &none);
        assert!(values(&redirected, "authorization").is_empty());
        // The rule's credentials reach its host, from any link, and replace the run's.
        assert_eq!(
            values(&fetcher.request_headers(&plain, &api, &none), "authorization"),
            ["Bearer rule"]
        );
        assert_eq!(
            values(&fetcher.request_headers(&api, &api, &none), "authorization"),
            ["Bearer rule"]
        );
    }

    #[test]
    fn a_rules_exclude_skips_its_hosts_urls_and_names_the_rule() {
        let fetcher = fetcher(
            Vec::new(),
            vec![
                HostRule {
                    exclude: Some(HostExclusion::All),
                    ..rule("*.gone.example")
                },
                HostRule {
                    exclude: Some(HostExclusion::Matching(vec![Regex::new(r"/private/").unwrap()])),
                    ..rule("mixed.example")
                },
            ],
        );
        assert_eq!(
            fetcher.exclusion("https://www.gone.example/a").as_deref(),
            Some("matches the exclude of the [[hosts]] rule for *.gone.example (linkkeep.toml:3)")
        );
        assert_eq!(fetcher.exclusion("https://gone.example/a"), None, "not a subdomain");
        assert_eq!(
            fetcher.exclusion("https://mixed.example/private/x").as_deref(),
            Some("matches the exclude /private/ of the [[hosts]] rule for mixed.example (linkkeep.toml:3)")
        );
        assert_eq!(fetcher.exclusion("https://mixed.example/public/x"), None);
        assert_eq!(fetcher.exclusion("https://other.example/private/x"), None);
    }

    #[test]
    fn a_rules_settings_replace_the_runs_for_its_hosts_only() {
        let accept = AcceptSet::parse("200,403").unwrap();
        let fetcher = fetcher(
            Vec::new(),
            vec![HostRule {
                timeout: Some(Duration::from_secs(2)),
                max_time: Some(Duration::from_secs(5)),
                retries: Some(0),
                accept: Some(accept.clone()),
                interval: Some(Duration::from_secs(1)),
                per_host: Some(std::num::NonZeroUsize::MIN),
                ..rule("slow.example")
            }],
        );
        let ruled = fetcher.settings(&url("http://slow.example/x"));
        assert_eq!(
            (ruled.timeout, ruled.max_time, ruled.retries),
            (Duration::from_secs(2), Duration::from_secs(5), 0)
        );
        assert_eq!(ruled.accept, &accept);
        assert_eq!(
            (ruled.per_host.get(), ruled.interval),
            (1, Some(Duration::from_secs(1)))
        );
        let limits = fetcher.body_limits(&url("http://slow.example/y"));
        assert_eq!(
            (limits.stall, limits.max_time),
            (Duration::from_secs(2), Duration::from_secs(5))
        );

        let run = fetcher.config();
        let plain = fetcher.settings(&url("http://fast.example/x"));
        assert_eq!(
            (plain.timeout, plain.max_time, plain.retries),
            (run.timeout, run.max_time, run.retries)
        );
        assert_eq!((plain.per_host, plain.interval), (run.per_host, None));
        assert_eq!(plain.accept, &run.accept);
    }

    #[test]
    fn a_rules_unusable_certificate_is_reported_naming_the_rule() {
        let err = Fetcher::new(NetworkConfig {
            hosts: HostRules(vec![HostRule {
                ca_cert: vec!["/nonexistent/ca.pem".into()],
                ..rule("tls.example")
            }]),
            ..NetworkConfig::default()
        })
        .unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains("the [[hosts]] rule for tls.example (linkkeep.toml:3)")
                && chain.contains("/nonexistent/ca.pem"),
            "{chain}"
        );
    }
}
