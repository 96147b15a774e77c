//! `linkkeep export`: the archive as a WACZ package (`--wacz FILE`), or every snapshot's payload
//! as a plain file (`--files DIR`, in [`files`]), as of the last checkpoint of any run writing
//! meanwhile.

pub mod files;

use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;

use super::Exit;
use super::archive::INDEX_FILE;
use crate::cli::ExportArgs;
use crate::config::{Environment, GlobalConfig};
use crate::manifest::Manifest;
use crate::report::timestamp;
use crate::wacz::{Page, WaczContents, write_wacz};
use crate::warc::index::list_warc_files;
use crate::warc::run::WARC_DIR;
use crate::{journal, links};

/// Runs `linkkeep export`: each format asked for, the WACZ package first.
pub async fn run(global: &GlobalConfig, args: &ExportArgs, env: &Environment) -> anyhow::Result<Exit> {
    if let Some(wacz) = &args.wacz {
        export_wacz(global, wacz, args.title.as_deref(), env).await?;
    }
    let Some(dir) = &args.files else {
        return Ok(Exit::Success);
    };
    let (archive, dest) = (global.archive_dir.clone(), env.current_dir.join(dir));
    let exported = tokio::task::spawn_blocking(move || files::export(&archive, &dest))
        .await
        .context("the export thread failed")?
        .with_context(|| format!("cannot export the payloads into {}", dir.display()))?;
    for failure in &exported.failures {
        // A failure names the link and its URL.
        eprintln!(
            "linkkeep export: not exported: {}",
            crate::report::terminal_safe(&failure.to_string())
        );
    }
    if !global.quiet {
        eprintln!(
            "linkkeep export: {} file(s) in {} ({} written, {} already there), listed in {}",
            exported.files,
            dir.display(),
            exported.written,
            exported.files - exported.written,
            files::SUMS_FILE
        );
    }
    Ok(if exported.failures.is_empty() {
        Exit::Success
    } else {
        Exit::Failures
    })
}

/// Writes the WACZ package `wacz`.
async fn export_wacz(global: &GlobalConfig, wacz: &Path, title: Option<&str>, env: &Environment) -> anyhow::Result<()> {
    let dir = &global.archive_dir;
    let index = dir.join(INDEX_FILE);
    if !index.is_file() {
        bail!(
            "{} has no CDXJ index ({}): run `linkkeep archive` first",
            dir.display(),
            index.display()
        );
    }
    // No lock: a run may be writing. What it has finished is in its journal, and only the
    // first bytes of its WARC file that its last checkpoint made durable are whole records.
    // The manifest is read before the journals: a run that compacts in between is then in the
    // index and the WARC files whole, only its pages are missed.
    let mut manifest = Manifest::load_compacted(dir)?;
    let journals = journal::read_all(dir)?;
    let mut limits = std::collections::HashMap::new();
    let mut more_index_lines = Vec::new();
    for recorded in journals {
        limits.insert(recorded.run.clone(), recorded.warc_lengths.clone());
        more_index_lines.extend(recorded.cdxj_lines().map(str::to_owned));
        manifest.apply(recorded.links);
    }
    let mut warcs: Vec<(std::path::PathBuf, Option<u64>)> = Vec::new();
    let files = list_warc_files(dir).with_context(|| format!("cannot list {}", dir.join(WARC_DIR).display()))?;
    for name in files {
        let limit = journal::run_id_of_warc(&name)
            .and_then(|run| limits.get(run))
            .map(|lengths| lengths.get(&name).copied().unwrap_or(0));
        // A file its run has not yet made any of durable holds nothing the index names.
        if limit != Some(0) {
            warcs.push((dir.join(&name), limit));
        }
    }

    // The pages are the cited links (issue #20): links.json's entries when it can be read (else
    // every link the manifest holds), each at its cited capture, the first one held in a WARC
    // record. Requisites, redirects and error responses are in the WARC files and the index,
    // never pages.
    let cited = links::load(&global.links_path).ok();
    let pages = cited_pages(&manifest, cited.as_ref());
    let title = match title {
        Some(title) => title.to_owned(),
        None => source_title(global).unwrap_or_else(|| "linkkeep archive".to_owned()),
    };
    let contents = WaczContents {
        warcs,
        index,
        more_index_lines,
        pages,
        title,
        software: format!("linkkeep {}", crate::VERSION),
        created: timestamp(Utc::now()),
    };
    let dest = env.current_dir.join(wacz);
    tokio::task::spawn_blocking(move || write_wacz(&dest, &contents))
        .await
        .context("the export thread failed")??;
    if !global.quiet {
        eprintln!("linkkeep export: wrote {}", wacz.display());
    }
    Ok(())
}

/// The citing document's title from links.json, if there is one.
fn source_title(global: &GlobalConfig) -> Option<String> {
    let file = links::load(&global.links_path).ok()?;
    file.source?.get("title")?.as_str().map(str::to_owned)
}

/// A page per cited link with a capture in a WARC file, at its first such capture, titled as
/// links.json titles it, else as the capture did. `cited`: links.json, whose links (in its
/// order) are the pages; without it, every link of the manifest.
fn cited_pages(manifest: &Manifest, cited: Option<&links::LinksFile>) -> Vec<Page> {
    let page = |id: &str, title: Option<&str>| {
        let entry = manifest.links.get(id)?;
        let snapshot = entry.snapshots.iter().find(|s| s.warc.is_some())?;
        Some(Page {
            id: id.to_owned(),
            url: snapshot.final_url.clone(),
            ts: snapshot
                .warc_record
                .as_ref()
                .map_or_else(|| snapshot.first_seen.clone(), |r| r.date.clone()),
            title: title.map(str::to_owned).or_else(|| snapshot.title.clone()),
            public_copies: entry.public_copies().cloned().collect(),
        })
    };
    match cited {
        Some(file) => file
            .links
            .iter()
            .filter_map(|link| page(&link.id, link.title.as_deref()))
            .collect(),
        None => manifest.links.keys().filter_map(|id| page(id, None)).collect(),
    }
}
