//! The linkkeep binary: arguments in, exit code out. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use linkkeep::cli::Cli;
use linkkeep::commands;
use linkkeep::config::Environment;

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
    let cli = Cli::parse();
    init_logging(cli.global.quiet, cli.global.verbose);
    let result = Environment::capture().map_err(anyhow::Error::from).and_then(|env| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build()?;
        runtime.block_on(commands::run(cli, &env))
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("linkkeep: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Logs go to stderr: warnings by default, more with each `-v`, errors only with `-q`.
fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
