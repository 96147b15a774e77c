//! Building the shared HTTP clients from the network configuration.
//!
//! A redirect hop goes through the client for the link's own address class, whose resolver
//! refuses anything more private (see [`super::resolve`]); each client keeps its own connection
//! pool, so a connection opened under a looser rule is never reused under a stricter one. A
//! link's first request may go anywhere (the link is what its author cited). With
//! `--allow-private` every request uses one client.

use std::sync::{Arc, OnceLock};

use reqwest::header::{HeaderMap, USER_AGENT};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Client, NoProxy, Proxy};

use super::address::AddressClass;
use super::resolve::{GuardedResolver, Overrides};
use super::settings::rule_name;
use crate::config::hosts::HostRule;
use crate::config::{NetworkConfig, ProxyConfig};

/// Why the HTTP client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read certificate file {}", path.display())]
    ReadCertificate {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no usable PEM certificate in {}", path.display())]
    BadCertificate {
        path: std::path::PathBuf,
        #[source]
        source: Option<reqwest::Error>,
    },
    #[error("invalid proxy {url}")]
    Proxy {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot set up the HTTP client")]
    Build(#[source] reqwest::Error),
    /// A `[[hosts]]` rule's proxy or certificates cannot be used.
    #[error("in {rule}")]
    Rule {
        /// The rule, as [`super::settings::rule_name`] names it.
        rule: String,
        #[source]
        source: Box<ClientError>,
    },
}

/// The clients of one run: one per ceiling (the class of a link's own address), whose resolver
/// refuses anything deeper, and one that may connect anywhere. Guarded clients are built when
/// first needed: most runs only ever use the public one.
#[derive(Debug)]
pub struct Clients {
    config: NetworkConfig,
    overrides: Arc<Overrides>,
    /// Proxy hosts, which every client may connect to.
    proxies: Arc<Vec<String>>,
    /// For links of the deepest class, links whose name turns out to be private, and every
    /// request under `--allow-private`.
    open: Client,
    /// Public, private and loopback ceilings.
    guarded: [OnceLock<Result<Client, String>>; 3],
}

impl Clients {
    /// Builds the open client, checking the configuration (certificates, proxies) up front.
    pub fn new(config: &NetworkConfig) -> Result<Self, ClientError> {
        let overrides = Arc::new(config.overrides());
        let proxies: Vec<String> = [&config.proxy.http, &config.proxy.https]
            .into_iter()
            .flatten()
            .filter_map(|url| url.host_str().map(str::to_owned))
            .collect();
        let proxies = Arc::new(proxies);
        let open = build_client(config, GuardedResolver::new(overrides.clone(), None, proxies.clone()))?;
        Ok(Self {
            config: config.clone(),
            overrides,
            proxies,
            open,
            guarded: Default::default(),
        })
    }

    /// The `--resolve` overrides every client resolves with.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The client for a request to `url`, and the one to try next should its resolver refuse.
    /// `own` is the class of the link's own address on a redirect hop: its ceiling's client.
    /// A link's first request (`own` is `None`) may go anywhere; one to an address literal
    /// goes through the client of the literal's class, one to a name through the public client
    /// and, when the name turns out to be private, through the open one. So a public link and
    /// its redirects share one pool, and a redirect to the same host reuses the connection.
    pub fn route(&self, url: &url::Url, own: Option<AddressClass>) -> Result<(&Client, Option<&Client>), String> {
        if let Some(own) = own {
            return Ok((self.ceiling(own)?, None));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => Ok((self.ceiling(AddressClass::of(ip.into()))?, None)),
            Some(url::Host::Ipv6(ip)) => Ok((self.ceiling(AddressClass::of(ip.into()))?, None)),
            _ => Ok((self.ceiling(AddressClass::Public)?, Some(&self.open))),
        }
    }

    /// Whether requests for `url` go through a proxy (which then resolves its host).
    pub fn proxied(&self, url: &url::Url) -> bool {
        let proxy = &self.config.proxy;
        match url.scheme() {
            "https" => proxy.https.is_some(),
            _ => proxy.http.is_some(),
        }
    }

    /// The client that connects to nothing deeper than `class`.
    fn ceiling(&self, class: AddressClass) -> Result<&Client, String> {
        let index = class.ceiling_index();
        if self.config.allow_private || index >= self.guarded.len() {
            return Ok(&self.open);
        }
        let ceiling = AddressClass::CEILINGS[index];
        let built = self.guarded[index].get_or_init(|| {
            let resolver = GuardedResolver::new(self.overrides.clone(), Some(ceiling), self.proxies.clone());
            build_client(&self.config, resolver).map_err(|e| format!("cannot set up HTTP: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
    }
}

/// The run's clients, and the own clients of the `[[hosts]]` rules that need them (another
/// proxy, other TLS trust, another timeout, which the clients' connect timeout is): a set per
/// rule, guarded like the run's, so that the private-address protection holds whichever
/// client a request goes through.
#[derive(Debug)]
pub struct RunClients {
    run: Clients,
    /// By rule position; `None` for a rule that uses the run's clients.
    rules: Vec<Option<Clients>>,
}

impl RunClients {
    /// Builds the run's clients and every rule's, so that a rule's unreadable certificate or
    /// invalid proxy is reported before any request, naming the rule.
    pub fn new(config: &NetworkConfig) -> Result<Self, ClientError> {
        let run = Clients::new(config)?;
        let rules = config
            .hosts
            .0
            .iter()
            .map(|rule| {
                if !rule.needs_own_client() && rule.timeout.is_none() {
                    return Ok(None);
                }
                Clients::new(&rule_network(config, rule))
                    .map(Some)
                    .map_err(|e| ClientError::Rule {
                        rule: rule_name(rule),
                        source: Box::new(e),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { run, rules })
    }

    /// The clients for requests under the rule at `rule` (its position), or under none.
    pub fn for_rule(&self, rule: Option<usize>) -> &Clients {
        rule.and_then(|i| self.rules.get(i)?.as_ref()).unwrap_or(&self.run)
    }
}

/// The network configuration a rule's clients are built from: the run's, with the rule's
/// timeout, user agent, TLS trust (its roots added to the run's) and proxy (for every scheme,
/// whatever `NO_PROXY` says: the rule names its hosts itself).
fn rule_network(run: &NetworkConfig, rule: &HostRule) -> NetworkConfig {
    let mut config = NetworkConfig {
        hosts: Default::default(),
        ..run.clone()
    };
    if let Some(timeout) = rule.timeout {
        config.timeout = timeout;
    }
    if let Some(user_agent) = &rule.user_agent {
        config.user_agent = user_agent.clone();
    }
    if let Some(per_host) = rule.per_host {
        config.per_host = per_host;
    }
    if let Some(insecure) = rule.insecure {
        config.tls.insecure = insecure;
    }
    config.tls.extra_roots.extend(rule.ca_cert.iter().cloned());
    if let Some(proxy) = &rule.proxy {
        config.proxy = ProxyConfig {
            http: Some(proxy.clone()),
            https: Some(proxy.clone()),
            no_proxy: None,
        };
    }
    config
}

/// Builds one client. Redirects are not followed by reqwest: the fetcher follows them itself
/// so that each hop is recorded and checked, and politeness applies per hop. Content decoding
/// is off, so that what is received is what the server sent.
fn build_client(config: &NetworkConfig, resolver: GuardedResolver) -> Result<Client, ClientError> {
    // `-H` headers are added per request by the fetcher, which keeps credentials to the
    // link's own origin.
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, config.user_agent.clone());

    let builder = Client::builder()
        .redirect(Policy::none())
        .dns_resolver(Arc::new(resolver))
        .default_headers(headers)
        .pool_max_idle_per_host(config.per_host.get())
        .tcp_nodelay(true);
    with_trust_and_proxies(builder, config)?
        .build()
        .map_err(ClientError::Build)
}

/// `builder` with the configuration's connect timeout, TLS trust (`--cacert`, `--insecure`)
/// and proxies: what every client linkkeep builds shares, whoever it talks to. Headers are not
/// part of it: `-H` values go only where the fetcher sends them.
pub fn with_trust_and_proxies(
    mut builder: reqwest::ClientBuilder,
    config: &NetworkConfig,
) -> Result<reqwest::ClientBuilder, ClientError> {
    builder = builder
        .connect_timeout(config.timeout)
        // Environment proxies are read once in config, not behind our back here.
        .no_proxy()
        .danger_accept_invalid_certs(config.tls.insecure);

    for path in &config.tls.extra_roots {
        let pem = std::fs::read(path).map_err(|source| ClientError::ReadCertificate {
            path: path.clone(),
            source,
        })?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|source| ClientError::BadCertificate {
            path: path.clone(),
            source: Some(source),
        })?;
        if certs.is_empty() {
            return Err(ClientError::BadCertificate {
                path: path.clone(),
                source: None,
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }

    let no_proxy = config.proxy.no_proxy.as_deref().and_then(NoProxy::from_string);
    let proxy_err = |url: &url::Url| {
        // A password in a proxy URL (from an environment variable, say) stays out of messages.
        let mut shown = url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("redacted"));
        }
        let url = shown.to_string();
        move |source| ClientError::Proxy { url, source }
    };
    if let Some(url) = &config.proxy.http {
        let proxy = Proxy::http(url.as_str()).map_err(proxy_err(url))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
    }
    if let Some(url) = &config.proxy.https {
        let proxy = Proxy::https(url.as_str()).map_err(proxy_err(url))?;
        builder = builder.proxy(proxy.no_proxy(no_proxy));
    }
    Ok(builder)
}
