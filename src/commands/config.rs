//! `linkkeep config`: the effective configuration as TOML, a file `--config` would accept, and
//! with `--explain` where each value came from. Secrets are never printed.

use toml::Value;

use super::{Exit, write_stdout};
use crate::cli::{ConfigArgs, GlobalArgs};
use crate::config::hosts::{HostExclusion, HostPattern, HostRule};
use crate::config::layers::{Provenance, Source};
use crate::config::secrets::{self, REDACTED};
use crate::config::{Environment, GlobalConfig, NetworkConfig, PublicArchiveConfig, default_user_agent, split_header};

/// Prints the configuration.
pub fn run(
    global: &GlobalConfig,
    global_args: &GlobalArgs,
    args: &ConfigArgs,
    env: &Environment,
    provenance: &Provenance,
) -> anyhow::Result<Exit> {
    // Checked as a run would check them, so that what is printed is what a run would use.
    let network = NetworkConfig::new(&args.run.network, env)?;
    PublicArchiveConfig::new(&args.run.public_archive)?;
    let text = render(global, global_args, args, &network, provenance);
    write_stdout(text.as_bytes())?;
    Ok(Exit::Success)
}

/// The configuration as TOML, with each value's source as a comment under `--explain`.
fn render(
    global: &GlobalConfig,
    global_args: &GlobalArgs,
    args: &ConfigArgs,
    network: &NetworkConfig,
    provenance: &Provenance,
) -> String {
    let mut out = Writer {
        text: String::new(),
        explain: args.explain,
        provenance,
    };
    let args = &args.run;
    let files: Vec<String> = provenance.files.iter().map(|p| p.display().to_string()).collect();
    out.comment(&format!(
        "linkkeep {} configuration; files read: {}",
        crate::VERSION,
        if files.is_empty() {
            "none".to_owned()
        } else {
            files.join(", ")
        }
    ));

    out.key("links", path(&global.links_path));
    out.key("archive", path(&global.archive_dir));
    out.key("quiet", Value::Boolean(global_args.quiet));
    out.key("verbose", Value::Integer(global_args.verbose.into()));
    out.key("no_progress", Value::Boolean(global_args.no_progress));
    out.key("color", choice(global_args.color));

    let n = &args.network;
    out.key("concurrency", count(n.concurrency));
    out.key("per_host", count(n.per_host));
    out.key("timeout", Value::Float(n.timeout));
    out.key("max_time", Value::Float(n.max_time));
    out.key("retries", Value::Integer(n.retries.into()));
    out.key("retry_wait", Value::Float(n.retry_wait));
    out.key("max_retry_after", Value::Float(n.max_retry_after));
    out.key("max_redirects", count(n.max_redirects));
    out.key("max_size", Value::String(n.max_size.clone()));
    out.key("accept", Value::String(n.accept.clone()));
    let agent = n.user_agent.clone().unwrap_or_else(default_user_agent);
    out.key("user_agent", Value::String(shown_header("user-agent", &agent)));
    out.raw_key(
        "headers",
        &headers_table(n.headers.iter().filter_map(|h| split_header(h).ok())),
    );
    out.key("include", strings(&n.include));
    out.key("exclude", strings(&n.exclude));
    out.key("ca_cert", Value::Array(n.ca_cert.iter().map(|p| path(p)).collect()));
    out.key("insecure", Value::Boolean(n.insecure));
    match &n.proxy {
        Some(proxy) => out.key("proxy", Value::String(shown_proxy(proxy))),
        None => out.unset("proxy", "HTTP_PROXY, HTTPS_PROXY and NO_PROXY apply"),
    }
    out.key("no_soft_404", Value::Boolean(n.no_soft_404));
    out.key("allow_private", Value::Boolean(n.allow_private));
    out.key("resolve", strings(&n.resolve));
    match args.shard.shard {
        Some(shard) => out.key("shard", Value::String(shard.to_string())),
        None => out.unset("shard", "every link"),
    }

    let p = &args.public_archive;
    match p.public_archive {
        Some(archive) => out.key("public_archive", choice(archive)),
        None => out.unset("public_archive", "no lookups"),
    }
    out.key("public_archive_all", Value::Boolean(p.public_archive_all));
    out.key(
        "public_archive_endpoint",
        Value::String(p.public_archive_endpoint.clone()),
    );
    let s = &args.submit;
    match s.submit {
        Some(archive) => out.key("submit", choice(archive)),
        None => out.unset("submit", "nothing submitted"),
    }
    out.key("submit_endpoint", Value::String(s.submit_endpoint.clone()));
    out.key("submit_jobs", count(s.submit_jobs));
    out.key("submit_max", count(s.submit_max));
    out.key("submit_wait", Value::Float(s.submit_wait));

    out.key("format", choice(args.output.format));
    match &args.output.output {
        Some(file) => out.key("output", path(file)),
        None => out.unset("output", "standard output"),
    }
    match args.fail_on_change {
        Some(rule) => out.key("fail_on_change", choice(rule)),
        None => out.key("fail_on_change", Value::Boolean(false)),
    }
    out.key("skip_cosmetic", Value::Boolean(args.skip_cosmetic));
    out.key("no_text", Value::Boolean(args.no_text));
    out.key("no_requisites", Value::Boolean(args.no_requisites));
    out.key("max_requisites", count(args.max_requisites));
    out.key("max_requisite_bytes", Value::String(args.max_requisite_bytes.clone()));
    out.key("wait_lock", Value::Boolean(args.wait_lock));

    for rule in &network.hosts.0 {
        out.host_rule(rule);
    }
    out.text
}

/// Lines of TOML, with sources as comments when explaining.
struct Writer<'a> {
    text: String,
    explain: bool,
    provenance: &'a Provenance,
}

impl Writer<'_> {
    fn comment(&mut self, text: &str) {
        self.text.push_str("# ");
        self.text.push_str(text);
        self.text.push('\n');
    }

    fn source(&self, key: &str) -> String {
        if !self.explain {
            return String::new();
        }
        let source = self.provenance.source(key).cloned().unwrap_or(Source::Default);
        format!("  # {source}")
    }

    fn key(&mut self, key: &str, value: Value) {
        self.raw_key(key, &value.to_string());
    }

    fn raw_key(&mut self, key: &str, value: &str) {
        let source = self.source(key);
        self.text.push_str(&format!("{key} = {value}{source}\n"));
    }

    /// A key with no value (TOML has no null): a comment saying what applies instead.
    fn unset(&mut self, key: &str, meaning: &str) {
        let source = self.source(key);
        self.text.push_str(&format!("# {key}: not set ({meaning}){source}\n"));
    }

    fn host_rule(&mut self, rule: &HostRule) {
        self.text.push('\n');
        let origin = if self.explain {
            format!("  # {}", rule.origin)
        } else {
            String::new()
        };
        self.text.push_str(&format!("[[hosts]]{origin}\n"));
        let line = |text: &mut String, key: &str, value: String| text.push_str(&format!("{key} = {value}\n"));
        let (regexes, hosts): (Vec<_>, Vec<_>) = rule.patterns.iter().partition(|p| matches!(p, HostPattern::Regex(_)));
        let texts = |patterns: Vec<&HostPattern>| {
            let texts = patterns.into_iter().map(|p| match p {
                HostPattern::Regex(re) => Value::String(re.as_str().to_owned()),
                other => Value::String(other.to_string()),
            });
            Value::Array(texts.collect()).to_string()
        };
        if !hosts.is_empty() {
            line(&mut self.text, "host", texts(hosts));
        }
        if !regexes.is_empty() {
            line(&mut self.text, "host_regex", texts(regexes));
        }
        let seconds = |d: std::time::Duration| Value::Float(d.as_secs_f64()).to_string();
        if let Some(n) = rule.per_host {
            line(&mut self.text, "per_host", n.to_string());
        }
        if let Some(d) = rule.interval {
            line(&mut self.text, "interval", seconds(d));
        }
        if let Some(d) = rule.timeout {
            line(&mut self.text, "timeout", seconds(d));
        }
        if let Some(d) = rule.max_time {
            line(&mut self.text, "max_time", seconds(d));
        }
        if let Some(n) = rule.retries {
            line(&mut self.text, "retries", n.to_string());
        }
        if let Some(accept) = &rule.accept {
            line(&mut self.text, "accept", Value::String(accept.to_spec()).to_string());
        }
        if let Some(agent) = &rule.user_agent {
            let shown = if agent.is_sensitive() {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(agent.as_bytes()).into_owned()
            };
            line(&mut self.text, "user_agent", Value::String(shown).to_string());
        }
        if !rule.shown_headers.is_empty() {
            let shown = rule
                .shown_headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.clone()));
            line(&mut self.text, "headers", inline_table(shown));
        }
        if let Some(proxy) = &rule.proxy {
            line(
                &mut self.text,
                "proxy",
                Value::String(shown_proxy(proxy.as_str())).to_string(),
            );
        }
        if let Some(insecure) = rule.insecure {
            line(&mut self.text, "insecure", insecure.to_string());
        }
        if !rule.ca_cert.is_empty() {
            let paths = Value::Array(rule.ca_cert.iter().map(|p| path(p)).collect());
            line(&mut self.text, "ca_cert", paths.to_string());
        }
        match &rule.exclude {
            Some(HostExclusion::All) => line(&mut self.text, "exclude", "true".into()),
            Some(HostExclusion::Matching(res)) => {
                let patterns: Vec<String> = res.iter().map(|r| r.as_str().to_owned()).collect();
                line(&mut self.text, "exclude", strings(&patterns).to_string());
            }
            None => {}
        }
    }
}

fn path(path: &std::path::Path) -> Value {
    Value::String(path.display().to_string())
}

fn count(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// A flag's value by its flag name (`"json"`).
fn choice(value: impl clap::ValueEnum) -> Value {
    let name = value
        .to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default();
    Value::String(name)
}

/// A header's value as it may be shown: see [`secrets::shown`].
fn shown_header(name: &str, template: &str) -> String {
    match reqwest::header::HeaderName::from_bytes(name.as_bytes()) {
        Ok(name) => secrets::shown(&name, template),
        Err(_) => REDACTED.to_owned(),
    }
}

/// The run's `headers` as an inline table, secrets hidden.
fn headers_table<'a>(headers: impl Iterator<Item = (reqwest::header::HeaderName, &'a str)>) -> String {
    inline_table(headers.map(|(name, template)| (name.as_str().to_owned(), secrets::shown(&name, template))))
}

fn inline_table(entries: impl Iterator<Item = (String, String)>) -> String {
    let entries: Vec<String> = entries
        .map(|(name, value)| format!("{} = {}", Value::String(name), Value::String(value)))
        .collect();
    if entries.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{ {} }}", entries.join(", "))
    }
}

/// A proxy's address without its password.
fn shown_proxy(text: &str) -> String {
    match crate::config::proxy_url(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(REDACTED));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => text.to_owned(),
    }
}
