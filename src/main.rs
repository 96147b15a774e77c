//! The linkkeep binary: arguments in, exit code out. Everything else is in the library.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use linkkeep::cli::Cli;
use linkkeep::commands;
use linkkeep::config::layers;
use linkkeep::config::{Environment, GlobalConfig};
use linkkeep::report::{terminal_safe, terminal_safe_lines};
use tracing_subscriber::field::MakeExt;

/// Exit code for "the run could not do its job" (SPEC.md); clap uses it for bad flags too.
const EXIT_ERROR: u8 = 2;

// mimalloc: a 100k-link manifest is millions of small strings, and glibc's malloc spent a
// fifth of `status` in its free lists; `check` uses a fifth less CPU too. Built without
// transparent huge pages, which otherwise tripled the peak memory of `archive` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Threads for blocking work (WARC appends, renames, title reads). WARC appends take turns on
/// one lock, so more threads would only hold finished downloads' buffers while they wait.
const MAX_BLOCKING_THREADS: usize = 16;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The configuration files fill in what no flag gave, before anything else looks at the
    // flags (logging included).
    let prepared = Environment::capture().map_err(anyhow::Error::from).and_then(|env| {
        let provenance = layers::apply(&mut cli, &matches, &env)?;
        Ok((env, provenance))
    });
    // Colour on stderr as for every message there: a terminal, `--color`, `NO_COLOR`.
    let color = prepared
        .as_ref()
        .is_ok_and(|(env, _)| GlobalConfig::new(&cli.global, env).color_stderr);
    init_logging(cli.global.quiet, cli.global.verbose, color);
    let result = prepared.and_then(|(env, provenance)| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build()?;
        runtime.block_on(commands::run(cli, &env, &provenance))
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            // Errors quote ids, URLs and server answers: escaped, but kept on their lines (a
            // configuration error quotes its file over several).
            eprintln!("linkkeep: error: {}", terminal_safe_lines(&format!("{err:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Logs go to stderr: warnings by default, more with each `-v`, errors only with `-q`. Every
/// field (the message, and span fields such as a link's id) goes through [`terminal_safe`]:
/// they quote URLs, ids and errors from outside. Levels are coloured only when `color`.
fn init_logging(quiet: bool, verbose: u8, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let value = terminal_safe(&format!("{value:?}"));
        if field.name() == "message" {
            write!(writer, "{value}")
        } else {
            write!(writer, "{field}={value}")
        }
    })
    .delimited(" ");
    tracing_subscriber::fmt()
        .fmt_fields(fields)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .init();
}
