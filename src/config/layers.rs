//! Where each setting comes from: flag > project file > user file > built-in default.
//!
//! The project file is `--config PATH`, else `linkkeep.toml` beside the links file when there
//! is one; the user file is `$XDG_CONFIG_HOME/linkkeep/config.toml` (or
//! `~/.config/linkkeep/config.toml`). Each key a file sets and no flag gave replaces the
//! parsed flag's value before the command validates its flags ([`crate::config`]), so a file
//! and a flag meet the same checks and the commands see one set of arguments. What decided
//! each key is kept for `linkkeep config --explain`.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use regex::Regex;
use reqwest::header::{HeaderName, USER_AGENT};
use toml::Spanned;

use super::file::{FileError, FileKeys, HostExcludeKeys, HostRuleKeys, LoadedFile, Place};
use super::hosts::{HostExclusion, HostPattern, HostRule, HostRules};
use super::{AcceptSet, Environment, proxy_url, secrets};
use crate::cli::{
    ArchiveArgs, Cli, Command, GlobalArgs, NetworkArgs, OutputArgs, PublicArchiveArgs, ShardArgs, SubmitArgs,
};

/// The name of the project configuration file, looked for beside the links file.
pub const PROJECT_FILE: &str = "linkkeep.toml";

/// What decided a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// A configuration file, at the value's place.
    File(Place),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::File(place) => write!(f, "{place}"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// The configuration files a run read, and what decided each key it looked at.
#[derive(Debug, Default)]
pub struct Provenance {
    /// The files read, project file first.
    pub files: Vec<PathBuf>,
    /// Each key looked at, in the order looked at, with what decided it.
    pub sources: Vec<(&'static str, Source)>,
}

impl Provenance {
    /// What decided `key`, if it was looked at.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources.iter().find(|(k, _)| *k == key).map(|(_, s)| s)
    }
}

/// Reads the configuration files for `cli` and fills in every setting of its command that
/// no flag gave. `matches` are the parsed arguments `cli` was made from (they tell a flag
/// given from a flag's default).
pub fn apply(cli: &mut Cli, matches: &ArgMatches, env: &Environment) -> Result<Provenance, FileError> {
    let files = discover(&cli.global, env)?;
    let mut layers = Layers {
        files: &files,
        top: matches,
        sub: matches.subcommand().map(|(_, m)| m),
        env,
        provenance: Provenance {
            files: files.iter().map(|f| f.path.clone()).collect(),
            sources: Vec::new(),
        },
    };
    layers.global(&mut cli.global);
    match &mut cli.command {
        Command::Check(args) => {
            layers.network(&mut args.network)?;
            layers.shard(&mut args.shard);
            layers.public_archive(&mut args.public_archive);
            layers.output(&mut args.output);
        }
        Command::Archive(args) => layers.archive(args)?,
        Command::Verify(args) => {
            // Offline, verify makes no request: the network settings (and the variables their
            // headers name, which a reader's machine may not have) are not needed.
            if args.live {
                layers.network(&mut args.network)?;
                layers.shard(&mut args.shard);
            }
            layers.public_archive(&mut args.public_archive);
            layers.output(&mut args.output);
            layers.fail_on_change(&mut args.fail_on_change);
        }
        Command::Status(args) => layers.output(&mut args.output),
        Command::Diff(args)
            if args
                .to
                .as_deref()
                .is_some_and(|to| to.trim().eq_ignore_ascii_case("live")) =>
        {
            layers.network(&mut args.network)?
        }
        Command::Repair(args) => layers.flag("wait_lock", &mut args.wait_lock, |k| k.wait_lock.as_ref()),
        Command::Config(args) => layers.archive(&mut args.run)?,
        Command::Diff(_)
        | Command::Get(_)
        | Command::Gc(_)
        | Command::Serve(_)
        | Command::Extract(_)
        | Command::Export(_)
        | Command::Cite(_) => {}
    }
    Ok(layers.provenance)
}

/// The configuration files that apply, project file first.
fn discover(global: &GlobalArgs, env: &Environment) -> Result<Vec<LoadedFile>, FileError> {
    let mut files = Vec::new();
    match &global.config {
        Some(path) => files.push(LoadedFile::load(&env.current_dir.join(path))?),
        None => {
            let links = env.current_dir.join(&global.links);
            let beside = links.parent().unwrap_or(Path::new("/")).join(PROJECT_FILE);
            if beside.is_file() {
                files.push(LoadedFile::load(&beside)?);
            }
        }
    }
    if let Some(user) = user_file(env).filter(|p| p.is_file()) {
        files.push(LoadedFile::load(&user)?);
    }
    Ok(files)
}

/// `$XDG_CONFIG_HOME/linkkeep/config.toml`, else `$HOME/.config/linkkeep/config.toml`. As the
/// XDG specification says, a relative `XDG_CONFIG_HOME` is ignored.
fn user_file(env: &Environment) -> Option<PathBuf> {
    let var = |name: &str| env.vars.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| home.join(".config")))?;
    Some(dir.join("linkkeep").join("config.toml"))
}

/// The layers of one run, while they are applied.
struct Layers<'a> {
    files: &'a [LoadedFile],
    top: &'a ArgMatches,
    sub: Option<&'a ArgMatches>,
    env: &'a Environment,
    provenance: Provenance,
}

impl<'a> Layers<'a> {
    /// Whether the flag whose id is `key` was given on the command line.
    fn given(&self, key: &str) -> bool {
        let on_line = |m: &ArgMatches| {
            m.ids().any(|id| id.as_str() == key) && m.value_source(key) == Some(ValueSource::CommandLine)
        };
        on_line(self.top) || self.sub.is_some_and(on_line)
    }

    /// The value a file gives `key` when no flag did, and the file; records what decided it.
    fn pick<T>(
        &mut self,
        key: &'static str,
        get: impl Fn(&'a FileKeys) -> Option<&'a Spanned<T>>,
    ) -> Option<(&'a T, &'a LoadedFile)> {
        if self.given(key) {
            self.provenance.sources.push((key, Source::Flag));
            return None;
        }
        for file in self.files {
            if let Some(value) = get(&file.keys) {
                self.provenance
                    .sources
                    .push((key, Source::File(file.place(value.span()))));
                return Some((value.get_ref(), file));
            }
        }
        self.provenance.sources.push((key, Source::Default));
        None
    }

    /// A switch (`--insecure`): the file's `true` or `false` when no flag gave it.
    fn flag(&mut self, key: &'static str, target: &mut bool, get: impl Fn(&'a FileKeys) -> Option<&'a Spanned<bool>>) {
        if let Some((value, _)) = self.pick(key, get) {
            *target = *value;
        }
    }

    /// `--skip-cosmetic` and `--no-text` exclude each other (clap refuses both as flags): a
    /// file that turns on one while a flag or a file turns on the other is refused at its line.
    fn refuse_cosmetic_and_no_text(&self, args: &ArchiveArgs) -> Result<(), FileError> {
        if !(args.skip_cosmetic && args.no_text) {
            return Ok(());
        }
        let on_in_file = self.files.iter().find_map(|file| {
            [&file.keys.no_text, &file.keys.skip_cosmetic]
                .into_iter()
                .flatten()
                .find(|value| *value.get_ref())
                .map(|value| file.error_at(value.span(), "`skip_cosmetic` and `no_text` cannot both be on"))
        });
        on_in_file.map_or(Ok(()), Err)
    }

    fn global(&mut self, args: &mut GlobalArgs) {
        if let Some((path, file)) = self.pick("links", |k| k.links.as_ref()) {
            args.links = file.path_value(path);
        }
        if let Some((path, file)) = self.pick("archive", |k| k.archive.as_ref()) {
            args.archive = file.path_value(path);
        }
        // `-q` and `-v` exclude each other: a flag for one silences a file's other.
        let quiet_flag = self.given("quiet");
        let verbose_flag = self.given("verbose");
        if let Some((quiet, _)) = self.pick("quiet", |k| k.quiet.as_ref())
            && !verbose_flag
        {
            args.quiet = *quiet;
        }
        if let Some((verbose, _)) = self.pick("verbose", |k| k.verbose.as_ref())
            && !quiet_flag
        {
            args.verbose = *verbose;
        }
        if args.quiet {
            args.verbose = 0;
        }
        self.flag("no_progress", &mut args.no_progress, |k| k.no_progress.as_ref());
        if let Some((color, _)) = self.pick("color", |k| k.color.as_ref()) {
            args.color = color.0;
        }
    }

    fn network(&mut self, args: &mut NetworkArgs) -> Result<(), FileError> {
        if let Some((n, _)) = self.pick("concurrency", |k| k.concurrency.as_ref()) {
            args.concurrency = n.0;
        }
        if let Some((n, _)) = self.pick("per_host", |k| k.per_host.as_ref()) {
            args.per_host = n.0;
        }
        if let Some((s, _)) = self.pick("timeout", |k| k.timeout.as_ref()) {
            args.timeout = s.0;
        }
        if let Some((s, _)) = self.pick("max_time", |k| k.max_time.as_ref()) {
            args.max_time = s.0;
        }
        if let Some((n, _)) = self.pick("retries", |k| k.retries.as_ref()) {
            args.retries = *n;
        }
        if let Some((s, _)) = self.pick("retry_wait", |k| k.retry_wait.as_ref()) {
            args.retry_wait = s.0;
        }
        if let Some((s, _)) = self.pick("max_retry_after", |k| k.max_retry_after.as_ref()) {
            args.max_retry_after = s.0;
        }
        if let Some((n, _)) = self.pick("max_redirects", |k| k.max_redirects.as_ref()) {
            args.max_redirects = *n;
        }
        if let Some((size, _)) = self.pick("max_size", |k| k.max_size.as_ref()) {
            args.max_size = size.0.clone();
        }
        if let Some((accept, _)) = self.pick("accept", |k| k.accept.as_ref()) {
            args.accept = accept.0.clone();
        }
        if let Some((agent, file)) = self.pick("user_agent", |k| k.user_agent.as_ref()) {
            let span = file.keys.user_agent.as_ref().map(Spanned::span).unwrap_or_default();
            secrets::header_value(&USER_AGENT, &agent.0, self.env).map_err(|e| file.error_at(span, e))?;
            args.user_agent = Some(agent.0.clone());
        }
        if let Some((headers, file)) = self.pick("headers", |k| k.headers.as_ref()) {
            args.headers = Vec::with_capacity(headers.0.len());
            for (name, value) in &headers.0 {
                let header = HeaderName::from_bytes(name.as_bytes()).expect("checked when read");
                // A variable that is not set stops the run here, naming it and its place.
                secrets::header_value(&header, value.get_ref(), self.env)
                    .map_err(|e| file.error_at(value.span(), e))?;
                args.headers.push(format!("{name}: {}", value.get_ref()));
            }
        }
        if let Some((patterns, _)) = self.pick("include", |k| k.include.as_ref()) {
            args.include = patterns.0.clone();
        }
        if let Some((patterns, _)) = self.pick("exclude", |k| k.exclude.as_ref()) {
            args.exclude = patterns.0.clone();
        }
        if let Some((paths, file)) = self.pick("ca_cert", |k| k.ca_cert.as_ref()) {
            let span = file.keys.ca_cert.as_ref().map(Spanned::span).unwrap_or_default();
            args.ca_cert = certificate_files(file, span, &paths.0)?;
        }
        self.flag("insecure", &mut args.insecure, |k| k.insecure.as_ref());
        if let Some((proxy, _)) = self.pick("proxy", |k| k.proxy.as_ref()) {
            args.proxy = Some(proxy.0.clone());
        }
        self.flag("no_soft_404", &mut args.no_soft_404, |k| k.no_soft_404.as_ref());
        self.flag("allow_private", &mut args.allow_private, |k| k.allow_private.as_ref());
        if let Some((entries, _)) = self.pick("resolve", |k| k.resolve.as_ref()) {
            args.resolve = entries.0.clone();
        }
        // Rules add up: the project file's come first, so they win for a host both name.
        let mut rules = Vec::new();
        for file in self.files {
            for rule in &file.keys.hosts {
                rules.push(host_rule(file, rule, self.env)?);
            }
        }
        args.host_rules = HostRules(rules);
        Ok(())
    }

    /// Every setting of `archive` (and of `config`, which shows them).
    fn archive(&mut self, args: &mut ArchiveArgs) -> Result<(), FileError> {
        self.network(&mut args.network)?;
        self.shard(&mut args.shard);
        self.public_archive(&mut args.public_archive);
        self.submit(&mut args.submit);
        self.output(&mut args.output);
        self.fail_on_change(&mut args.fail_on_change);
        self.flag("skip_cosmetic", &mut args.skip_cosmetic, |k| k.skip_cosmetic.as_ref());
        self.flag("no_text", &mut args.no_text, |k| k.no_text.as_ref());
        self.flag("no_requisites", &mut args.no_requisites, |k| k.no_requisites.as_ref());
        if let Some((n, _)) = self.pick("max_requisites", |k| k.max_requisites.as_ref()) {
            args.max_requisites = *n;
        }
        if let Some((size, _)) = self.pick("max_requisite_bytes", |k| k.max_requisite_bytes.as_ref()) {
            args.max_requisite_bytes = size.0.clone();
        }
        self.flag("wait_lock", &mut args.wait_lock, |k| k.wait_lock.as_ref());
        self.refuse_cosmetic_and_no_text(args)
    }

    /// `shard = "K/N"`, checked as `--shard` is when the file was read.
    fn shard(&mut self, args: &mut ShardArgs) {
        if let Some((shard, _)) = self.pick("shard", |k| k.shard.as_ref()) {
            args.shard = Some(*shard);
        }
    }

    fn public_archive(&mut self, args: &mut PublicArchiveArgs) {
        if let Some((choice, _)) = self.pick("public_archive", |k| k.public_archive.as_ref()) {
            args.public_archive = Some(choice.0);
        }
        self.flag("public_archive_all", &mut args.public_archive_all, |k| {
            k.public_archive_all.as_ref()
        });
        if let Some((url, _)) = self.pick("public_archive_endpoint", |k| k.public_archive_endpoint.as_ref()) {
            args.public_archive_endpoint = url.0.clone();
        }
    }

    fn submit(&mut self, args: &mut SubmitArgs) {
        if let Some((choice, _)) = self.pick("submit", |k| k.submit.as_ref()) {
            args.submit = Some(choice.0);
        }
        if let Some((url, _)) = self.pick("submit_endpoint", |k| k.submit_endpoint.as_ref()) {
            args.submit_endpoint = url.0.clone();
        }
        if let Some((n, _)) = self.pick("submit_jobs", |k| k.submit_jobs.as_ref()) {
            args.submit_jobs = n.0;
        }
        if let Some((n, _)) = self.pick("submit_max", |k| k.submit_max.as_ref()) {
            args.submit_max = *n;
        }
        if let Some((s, _)) = self.pick("submit_wait", |k| k.submit_wait.as_ref()) {
            args.submit_wait = s.0;
        }
    }

    fn output(&mut self, args: &mut OutputArgs) {
        if let Some((format, _)) = self.pick("format", |k| k.format.as_ref()) {
            args.format = format.0;
        }
        if let Some((path, file)) = self.pick("output", |k| k.output.as_ref()) {
            args.output = Some(file.path_value(path));
        }
    }

    fn fail_on_change(&mut self, target: &mut Option<crate::cli::ChangeRule>) {
        if let Some((rule, _)) = self.pick("fail_on_change", |k| k.fail_on_change.as_ref()) {
            *target = rule.0;
        }
    }
}

/// Certificate files named in `file`, made absolute; each must exist.
fn certificate_files(
    file: &LoadedFile,
    span: std::ops::Range<usize>,
    paths: &[PathBuf],
) -> Result<Vec<PathBuf>, FileError> {
    paths
        .iter()
        .map(|path| {
            let absolute = file.path_value(path);
            if absolute.is_file() {
                Ok(absolute)
            } else {
                Err(file.error_at(span.clone(), format!("{} is not a readable file", absolute.display())))
            }
        })
        .collect()
}

/// A `[[hosts]]` table, checked and made ready for the fetch engine: patterns parsed, paths
/// made absolute, `${VAR}` references filled in (a variable that is not set is an error
/// naming it and its place).
fn host_rule(file: &LoadedFile, rule: &Spanned<HostRuleKeys>, env: &Environment) -> Result<HostRule, FileError> {
    let keys = rule.get_ref();
    let at = |value_span: std::ops::Range<usize>, message: String| file.error_at(value_span, message);
    let mut patterns = Vec::new();
    if let Some(hosts) = &keys.host {
        for text in &hosts.get_ref().0 {
            patterns.push(HostPattern::parse(text).map_err(|e| at(hosts.span(), e))?);
        }
    }
    if let Some(regexes) = &keys.host_regex {
        for text in &regexes.get_ref().0 {
            patterns.push(HostPattern::Regex(Regex::new(text).expect("checked when read")));
        }
    }
    if patterns.is_empty() {
        return Err(at(
            rule.span(),
            "a [[hosts]] rule needs `host` (a host, `host:port` or `*.domain`) or `host_regex`".into(),
        ));
    }
    let seconds = |s: f64| Duration::from_secs_f64(s);
    let mut headers = Vec::new();
    let mut shown_headers = Vec::new();
    if let Some(table) = &keys.headers {
        for (name, value) in &table.get_ref().0 {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("checked when read");
            let header = secrets::header_value(&name, value.get_ref(), env).map_err(|e| at(value.span(), e))?;
            shown_headers.push((name.clone(), secrets::shown(&name, value.get_ref())));
            headers.push((name, header));
        }
    }
    let user_agent = keys
        .user_agent
        .as_ref()
        .map(|agent| secrets::header_value(&USER_AGENT, &agent.get_ref().0, env).map_err(|e| at(agent.span(), e)))
        .transpose()?;
    let proxy = keys
        .proxy
        .as_ref()
        .map(|proxy| proxy_url(&proxy.get_ref().0).map_err(|e| at(proxy.span(), e)))
        .transpose()?;
    let ca_cert = match &keys.ca_cert {
        Some(paths) => certificate_files(file, paths.span(), &paths.get_ref().0)?,
        None => Vec::new(),
    };
    let exclude = keys.exclude.as_ref().and_then(|exclude| match exclude.get_ref() {
        HostExcludeKeys::All(true) => Some(HostExclusion::All),
        HostExcludeKeys::All(false) => None,
        HostExcludeKeys::Matching(patterns) => Some(HostExclusion::Matching(
            patterns
                .iter()
                .map(|p| Regex::new(p).expect("checked when read"))
                .collect(),
        )),
    });
    let place = file.place(rule.span());
    Ok(HostRule {
        origin: format!("{}:{}", place.path.display(), place.line),
        patterns,
        per_host: keys.per_host.as_ref().and_then(|n| NonZeroUsize::new(n.get_ref().0)),
        interval: keys.interval.as_ref().map(|s| seconds(s.get_ref().0)),
        timeout: keys.timeout.as_ref().map(|s| seconds(s.get_ref().0)),
        max_time: keys.max_time.as_ref().map(|s| seconds(s.get_ref().0)),
        retries: keys.retries.as_ref().map(|n| *n.get_ref()),
        accept: keys
            .accept
            .as_ref()
            .map(|a| AcceptSet::parse(&a.get_ref().0).expect("checked when read")),
        user_agent,
        headers,
        shown_headers,
        proxy,
        insecure: keys.insecure.as_ref().map(|b| *b.get_ref()),
        ca_cert,
        exclude,
    })
}
