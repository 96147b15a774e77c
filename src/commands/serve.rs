//! `linkkeep serve`: being written (issue #4); this placeholder is replaced before landing.

use super::Exit;
use crate::cli::ServeArgs;
use crate::config::GlobalConfig;

/// Runs `linkkeep serve`.
pub async fn run(_global: &GlobalConfig, _args: &ServeArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("serve is not available in this build yet")
}
