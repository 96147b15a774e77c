//! `linkkeep cite [ID|URL…]`: citations of the archived links, in the format people cite in;
//! `linkkeep cite --robustify FILE`: a citing document with its links made robust.
//!
//! Reads links.json (titles, publishers, the order of the reference list; optional, as for
//! `status`) and the manifest the read-only way (with the finished links of a run still
//! writing), takes no lock and writes nothing into the archive. The citations themselves are
//! built by [`crate::cite`].
//!
//! Exit codes: 0 when the citations or the document were written; 2 (an `Err`) for an unknown
//! link, an invalid `--at` or `--replay-base`, an unreadable manifest, links.json or document,
//! or an output that could not be written.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use url::Url;

use super::{Exit, write_stdout};
use crate::cite::format::{self, Format};
use crate::cite::robustify::{self, DocumentKind};
use crate::cite::{Citation, Options};
use crate::cli::{CiteArgs, CiteFormat};
use crate::config::{Environment, GlobalConfig};
use crate::extract::Kind;
use crate::links::{self, Link, LinksFile};
use crate::manifest::{LinkEntry, Manifest};
use crate::output::write_output;
use crate::report::terminal_safe;

/// Runs `linkkeep cite`.
pub fn run(global: &GlobalConfig, args: &CiteArgs, env: &Environment) -> anyhow::Result<Exit> {
    let options = Options {
        at: crate::manifest::parse_time_flag("--at", args.at.as_deref()).map_err(anyhow::Error::msg)?,
        replay_base: args.replay_base.as_deref().map(replay_base).transpose()?,
    };
    let manifest = Manifest::load(&global.archive_dir)?;
    // links.json is optional, as for `status`: without it, the archive's links are cited.
    let listed = if global.links_path.exists() {
        Some(links::load(&global.links_path)?)
    } else {
        None
    };
    let links = Links::new(listed.as_ref(), &manifest);
    let say = |message: String| {
        if !global.quiet {
            eprintln!("linkkeep cite: {message}");
        }
    };

    if let Some(document) = &args.robustify {
        // Every URL the archive holds, whether or not links.json still lists it.
        let citations: Vec<Citation> = links.all.iter().map(|link| link.cite(&options)).collect();
        return robustify_document(document, args, env, &citations, say);
    }

    let chosen = links.pick(&args.targets, global)?;
    let citations: Vec<Citation> = chosen.iter().map(|link| link.cite(&options)).collect();
    for (link, citation) in chosen.iter().zip(&citations) {
        if citation.version.is_none() {
            let why = link.entry.map(LinkEntry::no_snapshot_why).unwrap_or_default();
            // The id and the last check's error come from links.json and a server.
            say(format!(
                "{} has no capture{}: cited without a version date, hash or archived copy",
                terminal_safe(&citation.id),
                terminal_safe(&why)
            ));
        }
    }
    let text = format::render(format_of(args.format), &citations);
    match &args.output {
        Some(path) => {
            let path = env.current_dir.join(path);
            crate::output::write_text(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write_stdout(text.as_bytes()).context("cannot write to standard output")?,
    }
    Ok(Exit::Success)
}

/// The library's format for a `--format` value.
fn format_of(format: CiteFormat) -> Format {
    match format {
        CiteFormat::Html => Format::Html,
        CiteFormat::Markdown => Format::Markdown,
        CiteFormat::Wikitext => Format::Wikitext,
        CiteFormat::Biblatex => Format::Biblatex,
        CiteFormat::CslJson => Format::CslJson,
        CiteFormat::Text => Format::Text,
    }
}

/// `--replay-base`: an absolute http(s) URL, where `linkkeep serve` answers.
fn replay_base(text: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text.trim()).with_context(|| format!("invalid value for --replay-base: {text:?}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        bail!("invalid value for --replay-base: {text:?} (an http or https URL without a query or fragment)");
    }
    Ok(url)
}

/// Writes the document `given` (as named on the command line) with its links made robust where
/// `args` says.
fn robustify_document(
    given: &Path,
    args: &CiteArgs,
    env: &Environment,
    citations: &[Citation],
    say: impl Fn(String),
) -> anyhow::Result<Exit> {
    let path = env.current_dir.join(given);
    let path = path.as_path();
    let shown = given.display();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
    let kind = match Kind::detect(Some(path), &bytes) {
        Kind::Html => DocumentKind::Html,
        Kind::Markdown | Kind::Text => DocumentKind::Markdown,
        Kind::Pdf => bail!("cannot robustify {shown}: links in a PDF cannot be rewritten in place"),
    };
    let robust = robustify::robustify(kind, &bytes, citations).with_context(|| format!("cannot robustify {shown}"))?;
    for url in &robust.without_copy {
        say(format!(
            "{} is in the archive without a copy to point to (no capture, no --replay-base, no public copy): left as it was",
            terminal_safe(url)
        ));
    }
    let destination = if args.in_place {
        Some(path.to_owned())
    } else {
        args.output.as_ref().map(|p| env.current_dir.join(p))
    };
    match &destination {
        Some(out) => write_output(out, |file| std::io::Write::write_all(file, &robust.document))
            .with_context(|| format!("cannot write {}", out.display()))?,
        None => write_stdout(&robust.document).context("cannot write to standard output")?,
    }
    say(format!("{shown}: {} link(s) made robust", robust.robust));
    Ok(Exit::Success)
}

/// The links there are to cite: links.json's in its order, then the archive's that it does not
/// list (or only the archive's, in the manifest's order, without a links.json).
struct Links<'a> {
    all: Vec<Cited<'a>>,
    /// How many of `all` links.json lists: the reference list cited by default.
    listed: usize,
}

/// One link to cite, with what links.json and the manifest know of it.
struct Cited<'a> {
    id: &'a str,
    url: &'a str,
    listed: Option<&'a Link>,
    entry: Option<&'a LinkEntry>,
}

impl Cited<'_> {
    /// The link's citation.
    fn cite(&self, options: &Options) -> Citation {
        Citation::new(self.id, self.url, self.listed, self.entry, options)
    }
}

impl<'a> Links<'a> {
    fn new(listed: Option<&'a LinksFile>, manifest: &'a Manifest) -> Self {
        let links = listed.map_or(&[][..], |l| &l.links);
        let listed_ids: HashSet<&str> = links.iter().map(|l| l.id.as_str()).collect();
        // Entries no links.json link has the id of, by normalised URL: a link whose id changed
        // finds its entry there, as `archive` matches them.
        let by_url: HashMap<String, (&String, &LinkEntry)> = manifest
            .links
            .iter()
            .filter(|(id, _)| !listed_ids.contains(id.as_str()))
            .map(|(id, e)| (normalized(&e.url), (id, e)))
            .collect();
        let mut all = Vec::new();
        let mut taken = HashSet::new();
        for link in links {
            let entry = manifest
                .links
                .get_key_value(link.id.as_str())
                .or_else(|| by_url.get(&normalized(&link.url)).copied());
            if let Some((id, _)) = entry {
                taken.insert(id.as_str());
            }
            all.push(Cited {
                id: &link.id,
                url: &link.url,
                listed: Some(link),
                entry: entry.map(|(_, e)| e),
            });
        }
        let listed_count = all.len();
        for (id, entry) in &manifest.links {
            if !taken.contains(id.as_str()) {
                all.push(Cited {
                    id,
                    url: &entry.url,
                    listed: None,
                    entry: Some(entry),
                });
            }
        }
        let listed = if listed.is_some() { listed_count } else { all.len() };
        Self { all, listed }
    }

    /// The links `targets` name (by id, or URL as written or normalised), in links.json order;
    /// without targets, links.json's (or, without one, the archive's). An unknown target is an
    /// error naming it.
    fn pick(&self, targets: &[String], global: &GlobalConfig) -> anyhow::Result<Vec<&Cited<'a>>> {
        if targets.is_empty() {
            return Ok(self.all[..self.listed].iter().collect());
        }
        let mut picked = Vec::new();
        for target in targets {
            let by_id = self.all.iter().position(|l| l.id == target);
            let by_url = || self.all.iter().position(|l| same_url(l.url, target));
            // Last, as `get` finds it: by the URL a capture was finally served from.
            let by_final_url = || {
                self.all.iter().position(|l| {
                    l.entry
                        .is_some_and(|e| e.snapshots.iter().any(|s| same_url(&s.final_url, target)))
                })
            };
            match by_id.or_else(by_url).or_else(by_final_url) {
                Some(at) => picked.push(at),
                None => bail!(
                    "no link {target:?} in {} or the archive {}",
                    global.links_path.display(),
                    global.archive_name()
                ),
            }
        }
        picked.sort_unstable();
        picked.dedup();
        Ok(picked.into_iter().map(|at| &self.all[at]).collect())
    }
}

/// `url` as the `url` crate normalises it, or as written when it does not parse.
fn normalized(url: &str) -> String {
    Url::parse(url.trim()).map_or_else(|_| url.to_owned(), String::from)
}

/// Whether two URLs are the same link: as written, or as the `url` crate normalises them.
fn same_url(a: &str, b: &str) -> bool {
    a == b
        || match (Url::parse(a.trim()), Url::parse(b.trim())) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
}
