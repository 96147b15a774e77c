//! `linkkeep extract`: reads documents, prints the URLs they cite as links.json, or merges them
//! into `--links` with `--write`.
//!
//! Exit codes: a document that cannot be read (missing, unreadable, a broken PDF), an invalid
//! `--base-url` or an invalid existing links.json is exit 2 with nothing written; otherwise 0,
//! even when a document cites nothing (an empty list and a note on stderr).

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use url::Url;

use super::{Exit, write_stdout};
use crate::cli::ExtractArgs;
use crate::config::{Environment, GlobalConfig};
use crate::extract::{self, Found, Kind, Options, merge};
use crate::links::parse_url;
use crate::output::write_text;
use crate::report::{terminal_safe, terminal_safe_lines};

/// Runs `linkkeep extract`.
pub fn run(global: &GlobalConfig, args: &ExtractArgs, env: &Environment) -> anyhow::Result<Exit> {
    let base_url = args.base_url.as_deref().map(base).transpose()?;
    let options = Options {
        base_url,
        all: args.all,
    };
    // Messages quote links found in documents from outside: escaped, line by line (a list of
    // stale links is one message over several lines, each of its parts escaped whole).
    let say = |message: String| {
        if !global.quiet {
            eprintln!("linkkeep extract: {}", terminal_safe_lines(&message));
        }
    };

    let mut documents = Vec::new();
    let mut all: Vec<Found> = Vec::new();
    let mut seen = HashSet::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for file in &args.files {
        let shown = file.display().to_string();
        let (bytes, path) = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            (bytes, None)
        } else {
            let path = env.current_dir.join(file);
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {shown}"))?;
            (bytes, Some(path))
        };
        let kind = Kind::detect(path.as_deref().map(Path::new), &bytes);
        let found = extract::extract(kind, &bytes, &options).with_context(|| format!("cannot extract from {shown}"))?;
        for warning in &found.warnings {
            say(format!("{shown}: {}", terminal_safe(&warning.to_string())));
        }
        for relative in &found.unresolved {
            say(format!(
                "{shown}: skipped relative link {} (no <base href> or --base-url to resolve it against)",
                terminal_safe(relative)
            ));
        }
        for (raw, reason) in &found.invalid {
            say(format!(
                "{shown}: skipped {raw:?}: {}",
                terminal_safe(&reason.to_string())
            ));
        }
        if !found.identifiers.is_empty() {
            let listed: Vec<String> = found
                .identifiers
                .iter()
                .map(|(url, what)| format!("  {} ({what})", terminal_safe(url)))
                .collect();
            say(format!(
                "{shown}: left out {} URL(s) that name rather than cite (--all lists them):\n{}",
                found.identifiers.len(),
                listed.join("\n")
            ));
        }
        if found.links.is_empty() {
            say(format!("{shown}: no http(s) URLs found"));
        }
        for (scheme, count) in found.skipped_schemes {
            *skipped.entry(scheme).or_default() += count;
        }
        for link in found.links {
            let key = parse_url(&link.url)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| link.url.clone());
            if seen.insert(key) {
                all.push(link);
            }
        }
        documents.push(shown);
    }
    if !skipped.is_empty() {
        let total: usize = skipped.values().sum();
        let by_scheme: Vec<String> = skipped.iter().map(|(scheme, n)| format!("{scheme}: {n}")).collect();
        say(format!("skipped {total} non-http(s) links ({})", by_scheme.join(", ")));
    }

    if !args.write {
        let text = merge::to_text(&merge::fresh(&all, &documents)?);
        write_stdout(text.as_bytes()).context("cannot write to standard output")?;
        say(format!("{} links from {} document(s)", all.len(), documents.len()));
        return Ok(Exit::Success);
    }

    let path = &global.links_path;
    let shown = path.display();
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {shown}")),
    };
    let merged = merge::merge(path, existing.as_deref(), &all, &documents, args.prune)?;
    if merged.changed {
        write_text(path, &merge::to_text(&merged.document)).with_context(|| format!("cannot write {shown}"))?;
    }
    let verb = if existing.is_none() {
        "created"
    } else if merged.changed {
        "updated"
    } else {
        "unchanged"
    };
    say(format!(
        "{shown} {verb}: {} new links appended, {} already listed",
        merged.appended, merged.already_listed
    ));
    if !merged.stale.is_empty() {
        let what = if merged.pruned {
            "removed (--prune)"
        } else {
            "kept (--prune removes them)"
        };
        let mut message = format!("{} links are no longer cited, {what}:", merged.stale.len());
        for (id, url) in &merged.stale {
            message.push_str(&format!("\n  {} {}", terminal_safe(id), terminal_safe(url)));
        }
        say(message);
    }
    Ok(Exit::Success)
}

/// An absolute http(s) URL for `--base-url`.
fn base(value: &str) -> anyhow::Result<Url> {
    match parse_url(value) {
        Ok(url) => Ok(url),
        Err(reason) => bail!("invalid value for --base-url: {value:?} {reason}"),
    }
}
