//! Building the one shared HTTP client from the network configuration.

use reqwest::header::{HeaderMap, USER_AGENT};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Client, NoProxy, Proxy};

use crate::config::NetworkConfig;

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
}

/// Builds the client every request goes through. Redirects are not followed by reqwest: the
/// fetcher follows them itself so that each hop is recorded and politeness applies per hop.
/// Content decoding is off, so that what is received is what the server sent.
pub fn build_client(config: &NetworkConfig) -> Result<Client, ClientError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &config.headers {
        headers.append(name.clone(), value.clone());
    }
    headers.insert(USER_AGENT, config.user_agent.clone());

    let mut builder = Client::builder()
        .redirect(Policy::none())
        .default_headers(headers)
        .connect_timeout(config.timeout)
        .pool_max_idle_per_host(config.per_host.get())
        .tcp_nodelay(true)
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
        let url = url.to_string();
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
    builder.build().map_err(ClientError::Build)
}
