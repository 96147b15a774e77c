//! The validated configuration every command runs on, built once from the command line and the
//! environment; defaults live here as constants.

pub mod file;
pub mod hosts;
pub mod layers;
pub mod secrets;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use crate::cli::{ColorChoice, FormatChoice, GlobalArgs, NetworkArgs, OutputArgs, PublicArchiveArgs, SubmitArgs};
use crate::public_archive::PublicArchive;

/// Requests in flight overall.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Requests in flight to one host.
pub const DEFAULT_PER_HOST: usize = 4;
/// Connect + response headers, and the longest stall while reading a body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a whole download may take.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(600);
/// Retries for transient failures.
pub const DEFAULT_RETRIES: u32 = 3;
/// The wait before the first retry; doubled for each further one.
pub const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The longest `Retry-After` honoured.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Redirects followed before giving up.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// The largest body accepted.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
/// Where `linkkeep serve` listens: loopback only, unless asked otherwise.
pub const DEFAULT_SERVE_ADDR: &str = "127.0.0.1:8080";
/// Save Page Now jobs running at once (`--submit-jobs`).
pub const DEFAULT_SUBMIT_JOBS: usize = 4;
/// Links submitted in one run (`--submit-max`).
pub const DEFAULT_SUBMIT_MAX: usize = 100;
/// How long a run waits for its Save Page Now jobs (`--submit-wait`).
pub const DEFAULT_SUBMIT_WAIT: Duration = Duration::from_secs(300);
/// Where linkkeep's home page is, for the default user agent.
pub const HOMEPAGE: &str = env!("CARGO_PKG_HOMEPAGE");

/// The default `User-Agent`: names the tool and where to learn about it, like a polite crawler.
pub fn default_user_agent() -> String {
    format!("linkkeep/{} (+{HOMEPAGE})", crate::VERSION)
}

/// A flag or environment value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for {flag}: {reason}")]
    Invalid { flag: &'static str, reason: String },
    #[error("cannot read {flag} {path}")]
    Read {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        reason: reason.into(),
    }
}

/// What the process was started with besides its arguments: read once in `main` and passed in,
/// so nothing deeper reads the environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Environment variables.
    pub vars: HashMap<String, String>,
    /// The working directory, against which relative paths are made absolute.
    pub current_dir: PathBuf,
    /// Whether standard output is a terminal.
    pub stdout_is_terminal: bool,
    /// Whether standard error is a terminal.
    pub stderr_is_terminal: bool,
}

impl Environment {
    /// Captures the real process environment.
    pub fn capture() -> std::io::Result<Self> {
        use std::io::IsTerminal;
        Ok(Self {
            vars: std::env::vars().collect(),
            current_dir: std::env::current_dir()?,
            stdout_is_terminal: std::io::stdout().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
        })
    }

    /// A variable's value, trying the upper-case name first, then the lower-case one (as curl
    /// does for proxy variables); empty values count as unset.
    fn var(&self, name: &str) -> Option<&str> {
        [name.to_owned(), name.to_lowercase()]
            .iter()
            .filter_map(|n| self.vars.get(n))
            .map(String::as_str)
            .find(|v| !v.is_empty())
    }

    fn is_set(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| !v.is_empty())
    }
}

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    /// The absolute path of links.json.
    pub links_path: PathBuf,
    /// The absolute path of the archive directory (for an archive in object storage, of its
    /// local working copy).
    pub archive_dir: PathBuf,
    /// `s3://bucket/prefix` when the archive is in object storage.
    pub archive_url: Option<String>,
    /// Print nothing but errors and the report.
    pub quiet: bool,
    /// Logging detail: 0 warnings, 1 info, 2+ debug.
    pub verbose: u8,
    /// Whether to draw a progress bar on standard error.
    pub progress: bool,
    /// Whether the human report may use colour when it goes to standard output.
    pub color_stdout: bool,
    /// Whether messages on standard error may use colour.
    pub color_stderr: bool,
}

impl GlobalConfig {
    /// The archive as the user named it, for messages: its directory, or its `s3://` URL
    /// (not the working copy's temporary directory).
    pub fn archive_name(&self) -> String {
        self.archive_url
            .clone()
            .unwrap_or_else(|| self.archive_dir.display().to_string())
    }

    /// Validates the global flags against the environment.
    pub fn new(args: &GlobalArgs, env: &Environment) -> Self {
        let no_color = env.is_set("NO_COLOR");
        let color = |is_terminal: bool| match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        Self {
            links_path: env.current_dir.join(&args.links),
            archive_dir: env.current_dir.join(&args.archive),
            archive_url: args
                .archive
                .to_str()
                .filter(|a| crate::storage::is_bucket_url(a))
                .map(str::to_owned),
            quiet: args.quiet,
            verbose: args.verbose,
            progress: !args.quiet && !args.no_progress && env.stderr_is_terminal && !env.is_set("CI"),
            color_stdout: color(env.stdout_is_terminal),
            color_stderr: color(env.stderr_is_terminal),
        }
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Junit,
}

/// Where and how a report is written.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// The report format.
    pub format: Format,
    /// The report file; `None` writes to standard output.
    pub path: Option<PathBuf>,
}

impl OutputConfig {
    /// Validates the output flags.
    pub fn new(args: &OutputArgs, env: &Environment) -> Self {
        let format = match args.format {
            FormatChoice::Human => Format::Human,
            FormatChoice::Json => Format::Json,
            FormatChoice::Markdown => Format::Markdown,
            FormatChoice::Junit => Format::Junit,
        };
        Self {
            format,
            path: args.output.as_ref().map(|p| env.current_dir.join(p)),
        }
    }
}

/// The HTTP statuses counted as ok.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptSet(Vec<(u16, u16)>);

impl Default for AcceptSet {
    fn default() -> Self {
        Self(vec![(200, 299)])
    }
}

impl AcceptSet {
    /// Parses `200..=299,403`: single codes, inclusive `a..=b` and half-open `a..b` ranges.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let code = |s: &str| -> Result<u16, String> {
            let n: u16 = s
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not an HTTP status code", s.trim()))?;
            if (100..=999).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{n} is not an HTTP status code (100-999)"))
            }
        };
        let mut ranges = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let range = if let Some((a, b)) = part.split_once("..=") {
                (code(a)?, code(b)?)
            } else if let Some((a, b)) = part.split_once("..") {
                let (a, b) = (code(a)?, code(b)?);
                if b <= a {
                    return Err(format!("`{part}` is an empty range"));
                }
                (a, b - 1)
            } else {
                let c = code(part)?;
                (c, c)
            };
            if range.0 > range.1 {
                return Err(format!("`{part}` is an empty range"));
            }
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err("no status codes given".into());
        }
        Ok(Self(ranges))
    }

    /// The set as `--accept` takes it: `200..=299,403`.
    pub fn to_spec(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}..={hi}")
                }
            })
            .collect();
        parts.join(",")
    }

    /// Whether `status` counts as ok.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

/// Parses a byte count such as `1048576`, `500KB`, `10MB`, `1GiB` (KB/MB/GB are powers of 1000,
/// KiB/MiB/GiB powers of 1024, as in curl and most disk tools).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 500MB or 1GiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KB, MB, GB, KiB, MiB or GiB)")),
    };
    Ok((number * factor as f64).round() as u64)
}

pub(crate) fn seconds(flag: &'static str, value: f64, allow_zero: bool) -> Result<Duration, ConfigError> {
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) {
        let need = if allow_zero { "zero or more" } else { "more than zero" };
        return Err(invalid(flag, format!("{value} seconds: must be {need}")));
    }
    Duration::try_from_secs_f64(value).map_err(|e| invalid(flag, e.to_string()))
}

/// Which proxy each scheme goes through, and which hosts go direct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Proxy for `http://` URLs.
    pub http: Option<Url>,
    /// Proxy for `https://` URLs.
    pub https: Option<Url>,
    /// Hosts that bypass the proxy, in the `NO_PROXY` syntax.
    pub no_proxy: Option<String>,
}

impl ProxyConfig {
    /// `--proxy` wins for every scheme; otherwise the conventional variables apply
    /// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or lower case).
    fn new(flag: Option<&str>, env: &Environment) -> Result<Self, ConfigError> {
        let parse = |name: &'static str, value: &str| proxy_url(value).map_err(|e| invalid(name, e));
        if let Some(url) = flag {
            let url = parse("--proxy", url)?;
            return Ok(Self {
                http: Some(url.clone()),
                https: Some(url),
                no_proxy: env.var("NO_PROXY").map(str::to_owned),
            });
        }
        let all = env.var("ALL_PROXY");
        // `http_proxy` only in lower case: HTTP_PROXY can be set by a CGI request header.
        let http = env.vars.get("http_proxy").filter(|v| !v.is_empty()).map(String::as_str);
        let http = http.or_else(|| env.var("HTTP_PROXY")).or(all);
        let https = env.var("HTTPS_PROXY").or(all);
        Ok(Self {
            http: http.map(|v| parse("HTTP_PROXY", v)).transpose()?,
            https: https.map(|v| parse("HTTPS_PROXY", v)).transpose()?,
            no_proxy: env.var("NO_PROXY").map(str::to_owned),
        })
    }
}

/// Parses a proxy's address. Like curl, a proxy given without a scheme is an HTTP proxy.
pub fn proxy_url(text: &str) -> Result<Url, String> {
    let text = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    Url::parse(&text).map_err(|e| format!("`{text}`: {e}"))
}

/// Trust settings for TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// PEM bundles whose certificates are trusted besides the bundled Mozilla roots:
    /// `--ca-cert`, `SSL_CERT_FILE` and the files of `SSL_CERT_DIR`.
    pub extra_roots: Vec<PathBuf>,
    /// Skip certificate verification altogether.
    pub insecure: bool,
}

impl TlsConfig {
    fn new(args: &NetworkArgs, env: &Environment) -> Result<Self, ConfigError> {
        let mut roots: Vec<PathBuf> = args.ca_cert.iter().map(|p| env.current_dir.join(p)).collect();
        if let Some(file) = env.var("SSL_CERT_FILE") {
            roots.push(env.current_dir.join(file));
        }
        if let Some(dir) = env.var("SSL_CERT_DIR") {
            // OpenSSL's syntax: a colon-separated list of directories.
            for dir in dir.split(':').filter(|d| !d.is_empty()) {
                roots.extend(cert_dir_files(&env.current_dir.join(dir))?);
            }
        }
        for path in &roots {
            if !path.is_file() {
                return Err(ConfigError::Read {
                    flag: "certificate file",
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a readable file"),
                });
            }
        }
        Ok(Self {
            extra_roots: roots,
            insecure: args.insecure,
        })
    }
}

/// The certificate files of an `SSL_CERT_DIR` directory, in a stable order. Distro directories
/// hold each certificate twice (a `.pem` link and a `<hash>.0` link to the same file): files are
/// kept once per canonical path, which halves the parsing every run pays for.
fn cert_dir_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        flag: "SSL_CERT_DIR",
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let is_cert = path
            .extension()
            .is_some_and(|e| matches!(e.to_str(), Some("pem" | "crt" | "cer")))
            || path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".0"));
        if is_cert && path.is_file() {
            files.push(std::fs::canonicalize(&path).unwrap_or(path));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Everything the fetch engine needs, validated.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Requests in flight overall.
    pub concurrency: NonZeroUsize,
    /// Requests in flight to one host and port.
    pub per_host: NonZeroUsize,
    /// Connect + headers, and the longest stall in a body.
    pub timeout: Duration,
    /// The longest a whole download may take.
    pub max_time: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Backoff before the first retry.
    pub retry_wait: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// The largest body accepted, in bytes.
    pub max_size: u64,
    /// Statuses counted as ok.
    pub accept: AcceptSet,
    /// The `User-Agent` header.
    pub user_agent: HeaderValue,
    /// Extra request headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// URLs must match one of these, when any are given.
    pub include: Vec<Regex>,
    /// URLs matching one of these are skipped.
    pub exclude: Vec<Regex>,
    /// TLS trust.
    pub tls: TlsConfig,
    /// Proxies.
    pub proxy: ProxyConfig,
    /// Probe a random path beside a cited page to tell a removed page answered with 200
    /// (`--no-soft-404` turns it off).
    pub soft_404_probes: bool,
    /// Let redirects lead into a more private address class than the link's own.
    pub allow_private: bool,
    /// `--resolve` entries, in the order given.
    pub resolve: Vec<ResolveEntry>,
    /// `[[hosts]]` rules: settings for the hosts they match, first match wins.
    pub hosts: hosts::HostRules,
}

/// One `--resolve HOST:PORT:ADDR[,ADDR…]`, as curl's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveEntry {
    /// The host name, lower case.
    pub host: String,
    /// The port given. Names are resolved without their port, so the addresses serve every
    /// port of the host.
    pub port: u16,
    /// The addresses the host stands for.
    pub addrs: Vec<std::net::IpAddr>,
}

impl ResolveEntry {
    /// Parses `example.org:443:127.0.0.1` or `example.org:80:[::1],127.0.0.1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape = || format!("`{text}` is not of the form HOST:PORT:ADDRESS[,ADDRESS...]");
        let (host, rest) = text.split_once(':').ok_or_else(shape)?;
        let (port, addrs) = rest.split_once(':').ok_or_else(shape)?;
        if host.is_empty() {
            return Err(shape());
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{port}` in `{text}` is not a port"))?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                let bare = a.trim().trim_start_matches('[').trim_end_matches(']');
                bare.parse()
                    .map_err(|_| format!("`{}` in `{text}` is not an IP address", a.trim()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
            addrs,
        })
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            concurrency: NonZeroUsize::new(DEFAULT_CONCURRENCY).expect("non-zero constant"),
            per_host: NonZeroUsize::new(DEFAULT_PER_HOST).expect("non-zero constant"),
            timeout: DEFAULT_TIMEOUT,
            max_time: DEFAULT_MAX_TIME,
            retries: DEFAULT_RETRIES,
            retry_wait: DEFAULT_RETRY_WAIT,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_size: DEFAULT_MAX_SIZE,
            accept: AcceptSet::default(),
            user_agent: HeaderValue::from_str(&default_user_agent()).expect("the default user agent is ASCII"),
            headers: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            tls: TlsConfig::default(),
            proxy: ProxyConfig::default(),
            soft_404_probes: true,
            allow_private: false,
            resolve: Vec::new(),
            hosts: hosts::HostRules::default(),
        }
    }
}

impl NetworkConfig {
    /// Validates the network flags against the environment.
    pub fn new(args: &NetworkArgs, env: &Environment) -> Result<Self, ConfigError> {
        let non_zero = |flag, n: usize| NonZeroUsize::new(n).ok_or_else(|| invalid(flag, "must be at least 1"));
        let regexes = |flag, patterns: &[String]| {
            patterns
                .iter()
                .map(|p| Regex::new(p).map_err(|e| invalid(flag, format!("`{p}`: {e}"))))
                .collect::<Result<Vec<_>, _>>()
        };
        let headers = args
            .headers
            .iter()
            .map(|h| parse_header(h, env))
            .collect::<Result<Vec<_>, _>>()?;
        let user_agent = args.user_agent.clone().unwrap_or_else(default_user_agent);
        let user_agent = secrets::header_value(&reqwest::header::USER_AGENT, &user_agent, env)
            .map_err(|e| invalid("--user-agent", e))?;
        Ok(Self {
            concurrency: non_zero("--concurrency", args.concurrency)?,
            per_host: non_zero("--per-host", args.per_host)?,
            timeout: seconds("--timeout", args.timeout, false)?,
            max_time: seconds("--max-time", args.max_time, false)?,
            retries: args.retries,
            retry_wait: seconds("--retry-wait", args.retry_wait, true)?,
            max_retry_after: seconds("--max-retry-after", args.max_retry_after, true)?,
            max_redirects: args.max_redirects,
            max_size: parse_size(&args.max_size).map_err(|e| invalid("--max-size", e))?,
            accept: AcceptSet::parse(&args.accept).map_err(|e| invalid("--accept", e))?,
            user_agent,
            headers,
            include: regexes("--include", &args.include)?,
            exclude: regexes("--exclude", &args.exclude)?,
            tls: TlsConfig::new(args, env)?,
            proxy: ProxyConfig::new(args.proxy.as_deref(), env)?,
            soft_404_probes: !args.no_soft_404,
            allow_private: args.allow_private,
            resolve: args
                .resolve
                .iter()
                .map(|r| ResolveEntry::parse(r).map_err(|e| invalid("--resolve", e)))
                .collect::<Result<_, _>>()?,
            hosts: args.host_rules.clone(),
        })
    }

    /// The `--resolve` entries as the resolver's overrides.
    pub fn overrides(&self) -> crate::fetch::resolve::Overrides {
        crate::fetch::resolve::Overrides::new(self.resolve.iter().map(|r| (r.host.clone(), r.addrs.clone())))
    }
}

/// Where and when to look links up in a public web archive (`--public-archive`).
#[derive(Debug, Clone)]
pub struct PublicArchiveConfig {
    /// The archive.
    pub archive: PublicArchive,
    /// Its address (`https://web.archive.org`, or a test's fixture).
    pub endpoint: Url,
    /// Look every link up, not only the failed ones.
    pub all: bool,
}

impl PublicArchiveConfig {
    /// Validates the flags; `None` when no lookups were asked for.
    pub fn new(args: &PublicArchiveArgs) -> Result<Option<Self>, ConfigError> {
        let Some(choice) = args.public_archive else {
            return Ok(None);
        };
        Ok(Some(Self {
            archive: archive_of(choice),
            endpoint: endpoint("--public-archive-endpoint", &args.public_archive_endpoint)?,
            all: args.public_archive_all,
        }))
    }
}

/// Save Page Now's keys, kept out of `Debug` output (and so out of logs and panics).
#[derive(Clone)]
pub struct SubmitCredentials {
    /// The S3-style access key.
    pub access: String,
    /// The S3-style secret key.
    pub secret: String,
}

impl std::fmt::Debug for SubmitCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubmitCredentials([redacted])")
    }
}

/// Where and how to submit captures to a public web archive (`archive --submit`).
#[derive(Debug, Clone)]
pub struct SubmitConfig {
    /// The archive.
    pub archive: PublicArchive,
    /// Its address (`https://web.archive.org`, or a test's fixture).
    pub endpoint: Url,
    /// Its keys, from the environment.
    pub credentials: SubmitCredentials,
    /// Jobs running at the archive at once.
    pub jobs: NonZeroUsize,
    /// The most links submitted in one run.
    pub max: usize,
    /// How long the run waits for its jobs before leaving them to the next run.
    pub wait: Duration,
}

impl SubmitConfig {
    /// Validates the flags and reads the keys from the environment; `None` when nothing is to
    /// be submitted. A missing key is an error naming its variable, before any request.
    pub fn new(args: &SubmitArgs, env: &Environment) -> Result<Option<Self>, ConfigError> {
        let Some(choice) = args.submit else {
            return Ok(None);
        };
        let key = |name: &'static str| {
            env.vars
                .get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| invalid("--submit", format!("the environment variable {name} is not set")))
        };
        let credentials = SubmitCredentials {
            access: key(crate::public_archive::WAYBACK_ACCESS_KEY_VAR)?,
            secret: key(crate::public_archive::WAYBACK_SECRET_KEY_VAR)?,
        };
        Ok(Some(Self {
            archive: archive_of(choice),
            endpoint: endpoint("--submit-endpoint", &args.submit_endpoint)?,
            credentials,
            jobs: NonZeroUsize::new(args.submit_jobs).ok_or_else(|| invalid("--submit-jobs", "must be at least 1"))?,
            max: args.submit_max,
            wait: seconds("--submit-wait", args.submit_wait, true)?,
        }))
    }
}

fn archive_of(choice: crate::cli::PublicArchiveChoice) -> PublicArchive {
    match choice {
        crate::cli::PublicArchiveChoice::Wayback => PublicArchive::Wayback,
    }
}

/// An archive's address: an absolute http(s) URL, kept without a trailing slash's meaning
/// (paths are appended to it).
pub(crate) fn endpoint(flag: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| invalid(flag, format!("`{text}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(flag, format!("`{text}` is not an http(s) URL")));
    }
    Ok(url)
}

/// Splits `-H 'Name: value'` into the header's name and its value as written.
pub fn split_header(text: &str) -> Result<(HeaderName, &str), String> {
    let (name, value) = text.split_once(':').ok_or_else(|| {
        format!(
            "`{}` is not of the form 'Name: value'",
            text.split(':').next().unwrap_or(text)
        )
    })?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    Ok((name, value.trim()))
}

/// Parses `-H 'Name: value'`, filling in `${VAR}` references from the environment; secrets
/// are marked sensitive (see [`secrets`]). The error never quotes the value.
fn parse_header(text: &str, env: &Environment) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let (name, template) = split_header(text).map_err(|e| invalid("--header", e))?;
    let value = secrets::header_value(&name, template, env).map_err(|e| invalid("--header", e))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_set_parses_ranges_and_codes() {
        let set = AcceptSet::parse("200..=299, 403,500..502").unwrap();
        assert!(set.contains(200) && set.contains(299) && set.contains(403) && set.contains(501));
        assert!(!set.contains(300) && !set.contains(404) && !set.contains(502));
        assert!(AcceptSet::parse("abc").is_err());
        assert!(AcceptSet::parse("299..=200").is_err());
        assert!(AcceptSet::parse("").is_err());
        assert!(AcceptSet::parse("42").is_err());
    }

    #[test]
    fn sizes_accept_decimal_and_binary_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("1.5 KB"), Ok(1500));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10 parsecs").is_err());
    }

    #[test]
    fn resolve_entries_as_curl_writes_them() {
        let entry = ResolveEntry::parse("Example.org:443:127.0.0.1,[::1]").unwrap();
        assert_eq!(entry.host, "example.org");
        assert_eq!(entry.port, 443);
        assert_eq!(
            entry.addrs,
            ["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), "::1".parse().unwrap()]
        );
        assert!(ResolveEntry::parse("example.org:443").is_err());
        assert!(ResolveEntry::parse("example.org:https:127.0.0.1").is_err());
        assert!(ResolveEntry::parse("example.org:443:localhost").is_err());
        assert!(ResolveEntry::parse(":443:127.0.0.1").is_err());
    }

    #[test]
    fn proxy_flag_wins_over_environment() {
        let mut env = Environment::default();
        env.vars.insert("HTTP_PROXY".into(), "http://env:1".into());
        env.vars.insert("no_proxy".into(), "localhost".into());
        let from_env = ProxyConfig::new(None, &env).unwrap();
        assert_eq!(from_env.http.unwrap().as_str(), "http://env:1/");
        assert_eq!(from_env.https, None);
        assert_eq!(from_env.no_proxy.as_deref(), Some("localhost"));
        let flag = ProxyConfig::new(Some("flag:2"), &env).unwrap();
        assert_eq!(flag.https.unwrap().as_str(), "http://flag:2/");
    }

    fn global(args: &[&str], env: &Environment) -> GlobalConfig {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["linkkeep"].iter().chain(args).chain(&["check"])).unwrap();
        GlobalConfig::new(&cli.global, env)
    }

    #[test]
    fn progress_only_on_a_terminal_outside_ci() {
        let mut env = Environment {
            stderr_is_terminal: true,
            stdout_is_terminal: true,
            ..Environment::default()
        };
        assert!(global(&[], &env).progress);
        assert!(!global(&["--no-progress"], &env).progress);
        assert!(!global(&["-q"], &env).progress);
        env.vars.insert("CI".into(), "true".into());
        assert!(!global(&[], &env).progress);
        env.vars.clear();
        env.stderr_is_terminal = false;
        assert!(!global(&[], &env).progress);
    }

    #[test]
    fn colour_follows_terminal_flag_and_no_color() {
        let mut env = Environment {
            stdout_is_terminal: true,
            ..Environment::default()
        };
        assert!(global(&[], &env).color_stdout);
        assert!(!global(&["--color", "never"], &env).color_stdout);
        env.vars.insert("NO_COLOR".into(), "1".into());
        assert!(!global(&[], &env).color_stdout);
        assert!(global(&["--color", "always"], &env).color_stdout);
        env.stdout_is_terminal = false;
        env.vars.clear();
        assert!(!global(&[], &env).color_stdout);
    }

    #[test]
    fn headers_need_a_colon() {
        let env = Environment::default();
        assert!(parse_header("X-Test: 1", &env).is_ok());
        assert!(parse_header("X-Test 1", &env).is_err());
    }
}
