//! One module per subcommand: the glue that loads inputs, runs the engine and writes reports.

pub mod archive;
pub mod check;
pub mod cite;
pub mod config;
pub mod diff;
pub mod export;
pub mod extract;
pub mod gc;
pub mod get;
pub mod repair;
pub mod serve;
pub mod status;
pub mod verify;

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::cli::{Cli, Command, PublicArchiveArgs};
use crate::config::layers::Provenance;
use crate::config::{Environment, Format, GlobalConfig, NetworkConfig, OutputConfig, PublicArchiveConfig};
use crate::links::{self, Link, LinksFile};
use crate::output::write_output;
use crate::public_archive::lookup::Lookups;
use crate::report::Report;
use crate::shard::Shard;
use crate::storage::{self, Needs, Remote};

/// How a command that did its job ended. Anything that kept it from doing its job is an
/// `Err` instead (exit code 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every link was fine: exit code 0.
    Success,
    /// At least one link failed: exit code 1.
    Failures,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failures => 1,
        }
    }
}

/// Runs the command `cli` names, whose settings `provenance` says where they came from.
pub async fn run(cli: Cli, env: &Environment, provenance: &Provenance) -> anyhow::Result<Exit> {
    let global = GlobalConfig::new(&cli.global, env);
    match (global.archive_url.clone(), remote_needs(&cli.command)) {
        (Some(url), Some(needs)) => run_on_bucket(cli, global, &url, needs, env, provenance).await,
        _ => dispatch(cli, &global, env, provenance).await,
    }
}

/// Runs a command on an archive in object storage: on a local working copy of it, opened as
/// `needs` says, written back when the command writes, removed at the end.
async fn run_on_bucket(
    cli: Cli,
    mut global: GlobalConfig,
    url: &str,
    (needs, command, wait): (Needs, &'static str, bool),
    env: &Environment,
    provenance: &Provenance,
) -> anyhow::Result<Exit> {
    // A shard run writes under a lease of its own, so that the N shards of one archive may
    // run at once.
    let shard = match &cli.command {
        Command::Archive(args) => args.shard.shard,
        _ => None,
    };
    let scope = shard.map_or(storage::Scope::All, |shard| storage::Scope::Shard {
        index: shard.index(),
        count: shard.count(),
    });
    if let (Command::Archive(args), Some(_)) = (&cli.command, shard)
        && args.submit.submit.is_some()
    {
        // Pending submissions are one file for the whole archive, which shard runs at once
        // would overwrite in turn.
        anyhow::bail!("--submit cannot be combined with --shard on an archive in object storage yet");
    }
    let remote = storage::set_remote(Remote::connect(url, scope)?);
    global.archive_dir = remote.dir().to_owned();
    let result: anyhow::Result<Exit> = async {
        for warning in remote.open(needs, command, wait).await? {
            tracing::warn!("{warning}");
        }
        let exit = dispatch(cli, &global, env, provenance).await?;
        if matches!(needs, Needs::Run | Needs::Everything) {
            remote.write_back().await?;
        }
        Ok(exit)
    }
    .await;
    // The lease goes and the working copy is removed whatever happened.
    let closed = remote.close().await;
    let exit = result?;
    closed?;
    Ok(exit)
}

/// What `command` needs of an archive in object storage: how much of it, the name it takes
/// the lease under, and whether it waits for another run's lease. `None` when it does not
/// touch the archive.
fn remote_needs(command: &Command) -> Option<(Needs, &'static str, bool)> {
    Some(match command {
        Command::Archive(args) => (Needs::Run, "archive", args.wait_lock),
        Command::Repair(args) if args.dry_run => (Needs::ReadEverything, "repair", false),
        Command::Repair(args) => (Needs::Everything, "repair", args.wait_lock),
        Command::Gc(_) => (Needs::Everything, "gc", false),
        // `check` reads the archive only for the cited captures' dates its lookups ask for.
        Command::Check(args) if args.public_archive.public_archive.is_some() => (Needs::Read, "read", false),
        Command::Check(_) => return None,
        Command::Status(_)
        | Command::Get(_)
        | Command::Verify(_)
        | Command::Serve(_)
        | Command::Diff(_)
        | Command::Export(_)
        | Command::Cite(_) => (Needs::Read, "read", false),
        Command::Extract(_) | Command::Config(_) => return None,
    })
}

/// Runs the command itself.
async fn dispatch(cli: Cli, global: &GlobalConfig, env: &Environment, provenance: &Provenance) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Check(args) => check::run(global, &args, env).await,
        Command::Archive(args) => archive::run(global, &args, env).await,
        Command::Status(args) => status::run(global, &args, env),
        Command::Get(args) => get::run(global, &args, env),
        Command::Verify(args) => verify::run(global, &args, env).await,
        Command::Gc(args) => gc::run(global, &args).await,
        Command::Serve(args) => serve::run(global, &args).await,
        Command::Extract(args) => extract::run(global, &args, env),
        Command::Diff(args) => diff::run(global, &args, env).await,
        Command::Export(args) => export::run(global, &args, env).await,
        Command::Repair(args) => repair::run(global, &args, env).await,
        Command::Cite(args) => cite::run(global, &args, env),
        Command::Config(args) => config::run(global, &cli.global, &args, env, provenance),
    }
}

/// links.json as a run over one shard of it sees it (`--shard K/N`; the whole list without).
#[derive(Debug)]
pub struct RunLinks {
    /// The file, holding the shard's links alone, in links.json order.
    pub file: LinksFile,
    /// The links of links.json outside the shard: never fetched nor reported, but still links
    /// of the list, whose ids and manifest entries the run leaves to their own shard.
    pub outside: Vec<Link>,
}

/// Reads links.json for a run of check, archive or `verify --live`, keeping the links of
/// `shard`. Ids are derived from the whole list first, so a link has the same id in every
/// shard's run as in an unsharded one.
pub fn load_run_links(path: &Path, shard: Option<Shard>) -> anyhow::Result<RunLinks> {
    let mut file = links::load(path)?;
    let outside = match shard {
        None => Vec::new(),
        Some(shard) => {
            let (inside, outside) = std::mem::take(&mut file.links)
                .into_iter()
                .partition(|link| shard.holds(&link.parsed));
            file.links = inside;
            tracing::info!(
                %shard,
                links = file.links.len(),
                outside = outside.len(),
                "links of this shard"
            );
            outside
        }
    };
    Ok(RunLinks { file, outside })
}

/// The run's lookups in a public archive, when `--public-archive` asks for them.
pub fn public_archive_lookups(args: &PublicArchiveArgs, network: &NetworkConfig) -> anyhow::Result<Option<Lookups>> {
    PublicArchiveConfig::new(args)?
        .map(|config| Lookups::new(config, network))
        .transpose()
        .context("cannot set up HTTP for the public archive")
}

/// Writes a report where `output` says: to a file (atomically, plus a one-line summary on
/// stderr) or to stdout. A closed stdout (`| head`) is not an error.
pub fn emit_report(report: &Report, output: &OutputConfig, global: &GlobalConfig) -> anyhow::Result<()> {
    emit(output, global, &report.command, &report.summary_line(), |color, out| {
        out.write_all(report.render(output.format, color).as_bytes())
    })
}

/// Writes what `render` writes (given whether colour is allowed) where `output` says, and the
/// `summary` line on stderr when the report itself is not a human table on stdout. `render`
/// streams into a buffered writer, so a report of 100,000 links is never one string.
pub fn emit(
    output: &OutputConfig,
    global: &GlobalConfig,
    command: &str,
    summary: &str,
    render: impl FnOnce(bool, &mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let summary_to_stderr = output.path.is_some() || output.format != Format::Human;
    match &output.path {
        Some(path) => write_output(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            render(false, &mut out)?;
            out.flush()
        })
        .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            reader_gone_is_ok(render(global.color_stdout, &mut out).and_then(|()| out.flush()))
                .context("cannot write the report to standard output")?
        }
    }
    if summary_to_stderr && !global.quiet {
        eprintln!("linkkeep {command}: {summary}");
    }
    Ok(())
}

/// Drops `value` without freeing its memory, for a large structure at the end of a command:
/// the process exits next, and freeing a 100,000-link manifest piece by piece takes a tenth
/// of a second or more (BENCHMARKS.md, manifest-100k).
pub fn release_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    reader_gone_is_ok(stdout.write_all(bytes).and_then(|()| stdout.flush()))
}

/// The result of writing to stdout, where a reader that went away (`| head`) is not an error.
fn reader_gone_is_ok(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
