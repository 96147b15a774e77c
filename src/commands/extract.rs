//! `linkkeep extract`: being written (issue #6); this placeholder is replaced before landing.

use super::Exit;
use crate::cli::ExtractArgs;
use crate::config::{Environment, GlobalConfig};

/// Runs `linkkeep extract`.
pub fn run(_global: &GlobalConfig, _args: &ExtractArgs, _env: &Environment) -> anyhow::Result<Exit> {
    anyhow::bail!("extract is not available in this build yet")
}
