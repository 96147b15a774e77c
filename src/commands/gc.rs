//! `linkkeep gc`: removes the object files of 0.1.0 archives (`objects/sha256/…`) that no
//! snapshot references (and downloads a killed run left in `tmp/`), under the archive lock so
//! that no run is writing meanwhile. An archive of this version keeps each payload in its WARC
//! record and has no `objects/`: nothing to do.
//!
//! An object stays while any snapshot has its hash, even one that now reads its payload from a
//! record: the object may still be the only intact copy, and `repair --migrate` is what retires
//! objects, after checking the records that replace them.

use std::collections::HashSet;

use anyhow::Context;

use super::Exit;
use super::archive::OpenArchive;
use crate::cli::GcArgs;
use crate::config::GlobalConfig;
use crate::manifest::Manifest;

/// Runs `linkkeep gc`.
pub async fn run(global: &GlobalConfig, args: &GcArgs) -> anyhow::Result<Exit> {
    let archive = OpenArchive::open(&global.archive_dir, "gc", false, Manifest::load).await?;
    let referenced: HashSet<&str> = archive
        .manifest
        .links
        .values()
        .flat_map(|e| e.snapshots.iter().map(|s| s.sha256.as_str()))
        .collect();
    let (found, _strays) = archive
        .store
        .list_objects()
        .with_context(|| format!("cannot list the objects of {}", global.archive_name()))?;
    let orphans: Vec<_> = found
        .iter()
        .filter(|o| !referenced.contains(o.sha256.as_str()))
        .collect();
    let bytes: u64 = orphans.iter().map(|o| o.size).sum();
    for orphan in &orphans {
        if args.dry_run {
            println!("would remove {} ({} bytes)", orphan.object, orphan.size);
        } else {
            let path = global.archive_dir.join(&orphan.object);
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            // The fan-out folder goes too once empty; a non-empty one stays (remove_dir refuses).
            if let Some(dir) = path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
            if global.verbose > 0 {
                eprintln!("removed {}", orphan.object);
            }
        }
    }
    if !global.quiet {
        let verb = if args.dry_run { "would remove" } else { "removed" };
        eprintln!(
            "linkkeep gc: {verb} {} unreferenced object(s), {bytes} bytes; {} referenced object(s) kept",
            orphans.len(),
            found.len() - orphans.len()
        );
    }
    Ok(Exit::Success)
}
