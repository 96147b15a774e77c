//! `linkkeep get <ID or URL>`: a snapshot's bytes back, to stdout or a file, or its manifest
//! entry with `--info`. The latest capture by default; `--at TIME` picks the one nearest TIME.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::{Exit, write_stdout};
use crate::cli::GetArgs;
use crate::config::{Environment, GlobalConfig};
use crate::manifest::{LinkEntry, Manifest, nearest, parse_time};
use crate::output::write_output;
use crate::store::{Store, hex};

/// Runs `linkkeep get`.
pub fn run(global: &GlobalConfig, args: &GetArgs, env: &Environment) -> anyhow::Result<Exit> {
    let at = args
        .at
        .as_deref()
        .map(|t| parse_time(t).map_err(|e| anyhow::anyhow!("invalid value for --at: {e}")))
        .transpose()?;
    let manifest = Manifest::load(&global.archive_dir)?;
    let Some((id, entry)) = find(&manifest, &args.target) else {
        eprintln!(
            "linkkeep get: no link {:?} in the archive {}",
            args.target,
            global.archive_dir.display()
        );
        return Ok(Exit::Failures);
    };
    let snapshot = match at {
        Some(at) => nearest(&entry.snapshots, at),
        None => entry.snapshots.last(),
    };
    let Some(snapshot) = snapshot else {
        let why = entry
            .last_check
            .as_ref()
            .and_then(|c| c.error.as_deref())
            .map(|e| format!(" (last check: {e})"))
            .unwrap_or_default();
        eprintln!("linkkeep get: {id} has no snapshot yet{why}");
        return Ok(Exit::Failures);
    };
    if args.info {
        let mut info = serde_json::to_value(snapshot)?;
        if let Some(map) = info.as_object_mut() {
            map.insert("id".into(), id.into());
            map.insert("url".into(), entry.url.clone().into());
        }
        write_stdout(format!("{}\n", serde_json::to_string_pretty(&info)?).as_bytes())?;
        return Ok(Exit::Success);
    }
    let store = Store::new(&global.archive_dir);
    let object = store
        .object_path(&snapshot.sha256)
        .with_context(|| format!("the manifest's sha256 for {id} is not a SHA-256: {:?}", snapshot.sha256))?;
    match &args.output {
        Some(path) => copy_to_file(&object, &env.current_dir.join(path), &snapshot.sha256)?,
        None => copy_verified(&object, &mut StdoutSink, &snapshot.sha256)?,
    }
    Ok(Exit::Success)
}

/// The link named by `target`: an id, or a URL as written, as normalized, or as finally served.
fn find<'m>(manifest: &'m Manifest, target: &str) -> Option<(&'m str, &'m LinkEntry)> {
    if let Some((id, entry)) = manifest.links.get_key_value(target) {
        return Some((id, entry));
    }
    let normalized = url::Url::parse(target).ok().map(|u| u.to_string());
    let matches = |url: &str| url == target || normalized.as_deref() == Some(url);
    let by_url = manifest
        .links
        .iter()
        .find(|(_, e)| matches(&e.url) || url::Url::parse(&e.url).is_ok_and(|u| matches(u.as_str())));
    by_url
        .or_else(|| {
            manifest
                .links
                .iter()
                .find(|(_, e)| e.snapshots.iter().any(|s| matches(&s.final_url)))
        })
        .map(|(id, e)| (id.as_str(), e))
}

struct StdoutSink;

impl Write for StdoutSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        write_stdout(buf).map(|()| buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Copies an object to `out`, hashing on the way, and fails if it no longer matches its hash
/// (the bytes already written are then known to be damaged; `verify` says more).
fn copy_verified(object: &Path, out: &mut impl Write, sha256: &str) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(object).with_context(|| format!("cannot open {}", object.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", object.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).context("cannot write the snapshot")?;
    }
    out.flush().context("cannot write the snapshot")?;
    let actual = hex(&hasher.finalize());
    if actual != sha256 {
        bail!(
            "{} is damaged: its SHA-256 is {actual}, the manifest says {sha256}",
            object.display()
        );
    }
    Ok(())
}

/// Copies an object to `dest`, which only ever appears whole and intact (see
/// [`write_output`]).
fn copy_to_file(object: &Path, dest: &Path, sha256: &str) -> anyhow::Result<()> {
    write_output(dest, |file| {
        copy_verified(object, file, sha256).map_err(|e| std::io::Error::other(format!("{e:#}")))
    })
    .with_context(|| format!("cannot write {}", dest.display()))
}
