//! `linkkeep get <ID or URL>`: a snapshot's payload back, to stdout or a file, or its manifest
//! entry with `--info`. The latest capture by default; `--at TIME` picks the one nearest TIME.
//! The payload is read from the WARC record that holds it (or a 0.1.0 object), its
//! `Content-Encoding` removed, and checked against the manifest's `sha256` on the way.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{Exit, write_stdout};
use crate::cli::GetArgs;
use crate::config::{Environment, GlobalConfig};
use crate::manifest::{Manifest, Pick, Snapshot, parse_time_flag};
use crate::output::write_output;
use crate::payload::{self, PayloadError};
use crate::report::terminal_safe;

/// Runs `linkkeep get`.
pub fn run(global: &GlobalConfig, args: &GetArgs, env: &Environment) -> anyhow::Result<Exit> {
    let at = parse_time_flag("--at", args.at.as_deref()).map_err(anyhow::Error::msg)?;
    let manifest = Manifest::load(&global.archive_dir)?;
    let Some((id, entry)) = manifest.find(&args.target) else {
        eprintln!(
            "linkkeep get: no link {:?} in the archive {}",
            args.target,
            global.archive_name()
        );
        return Ok(Exit::Failures);
    };
    let Some(snapshot) = entry.capture(at, Pick::Latest) else {
        // The id and the last check's error come from links.json and a server.
        eprintln!(
            "linkkeep get: {} has no snapshot yet{}",
            terminal_safe(id),
            terminal_safe(&entry.no_snapshot_why())
        );
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
    let archive = &global.archive_dir;
    let copied = match &args.output {
        Some(path) => copy_to_file(archive, snapshot, &env.current_dir.join(path)),
        None => copy_verified(archive, snapshot, &mut StdoutSink).map_err(anyhow::Error::from),
    };
    copied.with_context(|| format!("cannot get the capture of {id} of {}", snapshot.first_seen))?;
    Ok(Exit::Success)
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

/// Copies a snapshot's payload to `out`, and fails if it is not the recorded bytes (those
/// already written are then known to be damaged; `verify` says more).
fn copy_verified(archive: &Path, snapshot: &Snapshot, out: &mut impl Write) -> Result<(), PayloadError> {
    payload::open(archive, snapshot)?.copy_to(out).map(|_| ())
}

/// Copies a snapshot's payload to `dest`, which only ever appears whole and intact (see
/// [`write_output`]): a payload that fails its check leaves no file behind.
fn copy_to_file(archive: &Path, snapshot: &Snapshot, dest: &Path) -> anyhow::Result<()> {
    // Opened first, so that a missing payload is told as such rather than as a failed write.
    let payload = payload::open(archive, snapshot)?;
    let mut failure = None;
    let written = write_output(dest, |file| {
        payload.copy_to(file).map(|_| ()).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            failure = Some(e);
            io
        })
    });
    let cannot_write = || format!("cannot write {}", dest.display());
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(PayloadError::Write(e))) | (Err(e), None) => Err(anyhow::Error::new(e).context(cannot_write())),
        (Err(_), Some(failure)) => Err(failure.into()),
    }
}
