//! One module per subcommand: the glue that loads inputs, runs the engine and writes reports.

pub mod check;

use std::io::Write;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::{Environment, Format, GlobalConfig, OutputConfig};
use crate::report::{Report, write_file_atomically};

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

/// Runs the command `cli` names.
pub async fn run(cli: Cli, env: &Environment) -> anyhow::Result<Exit> {
    let global = GlobalConfig::new(&cli.global, env);
    match cli.command {
        Command::Check(args) => check::run(&global, &args, env).await,
    }
}

/// Writes a report where `output` says: to a file (atomically, plus a one-line summary on
/// stderr) or to stdout. A closed stdout (`| head`) is not an error.
pub fn emit_report(report: &Report, output: &OutputConfig, global: &GlobalConfig) -> anyhow::Result<()> {
    let summary_to_stderr = output.path.is_some() || output.format != Format::Human;
    match &output.path {
        Some(path) => {
            let text = report.render(output.format, false);
            write_file_atomically(path, &text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        None => {
            let text = report.render(output.format, global.color_stdout);
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("cannot write the report to standard output")?,
            }
        }
    }
    if summary_to_stderr && !global.quiet {
        eprintln!("linkkeep {}: {}", report.command, report.summary_line());
    }
    Ok(())
}
