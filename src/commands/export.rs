//! `linkkeep export --wacz FILE`: the archive as a WACZ package, under the archive lock so that
//! no run is appending to a WARC file meanwhile.

use anyhow::{Context, bail};
use chrono::Utc;

use super::Exit;
use super::archive::{INDEX_FILE, OpenArchive};
use crate::cli::ExportArgs;
use crate::config::{Environment, GlobalConfig};
use crate::links;
use crate::manifest::Manifest;
use crate::report::timestamp;
use crate::wacz::{Page, WaczContents, write_wacz};
use crate::warc::run::WARC_DIR;

/// Runs `linkkeep export`.
pub async fn run(global: &GlobalConfig, args: &ExportArgs, env: &Environment) -> anyhow::Result<Exit> {
    let dir = &global.archive_dir;
    let index = dir.join(INDEX_FILE);
    if !index.is_file() {
        bail!(
            "{} has no CDXJ index ({}): run `linkkeep archive` first",
            dir.display(),
            index.display()
        );
    }
    let archive = OpenArchive::open(dir, "export", false, Manifest::load).await?;
    let mut warcs: Vec<_> = std::fs::read_dir(dir.join(WARC_DIR))
        .with_context(|| format!("cannot list {}", dir.join(WARC_DIR).display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|p| p.ends_with(".warc.gz")))
        .collect();
    warcs.sort();

    // A page per link with a capture in a WARC file: its latest such capture.
    let pages = archive
        .manifest
        .links
        .iter()
        .filter_map(|(id, entry)| {
            let snapshot = entry.snapshots.iter().rev().find(|s| s.warc.is_some())?;
            Some(Page {
                id: id.clone(),
                url: snapshot.final_url.clone(),
                ts: snapshot
                    .warc_record
                    .as_ref()
                    .map_or_else(|| snapshot.first_seen.clone(), |r| r.date.clone()),
                title: snapshot.title.clone(),
            })
        })
        .collect();
    let title = match &args.title {
        Some(title) => title.clone(),
        None => source_title(global).unwrap_or_else(|| "linkkeep archive".to_owned()),
    };
    let contents = WaczContents {
        warcs,
        index,
        pages,
        title,
        software: format!("linkkeep {}", crate::VERSION),
        created: timestamp(Utc::now()),
    };
    let dest = env.current_dir.join(&args.wacz);
    tokio::task::spawn_blocking(move || write_wacz(&dest, &contents))
        .await
        .context("the export thread failed")??;
    if !global.quiet {
        eprintln!("linkkeep export: wrote {}", args.wacz.display());
    }
    Ok(Exit::Success)
}

/// The citing document's title from links.json, if there is one.
fn source_title(global: &GlobalConfig) -> Option<String> {
    let file = links::load(&global.links_path).ok()?;
    file.source?.get("title")?.as_str().map(str::to_owned)
}
