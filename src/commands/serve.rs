//! `linkkeep serve`: binds the listening socket, says where to browse, and runs the replay server
//! ([`crate::serve`]) until Ctrl-C.

use anyhow::Context;
use tokio::net::TcpListener;

use super::Exit;
use crate::cli::ServeArgs;
use crate::config::GlobalConfig;
use crate::serve::{self, Archive};

/// Runs `linkkeep serve`.
pub async fn run(global: &GlobalConfig, args: &ServeArgs) -> anyhow::Result<Exit> {
    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    // The bound address, not the requested one: with port 0 only this says where to go.
    let addr = listener.local_addr().context("cannot read the listening address")?;
    let shutdown = shutdown_signal()?;
    if !global.quiet {
        eprintln!("linkkeep serve: browse the archive at http://{addr}/");
    }
    let archive = Archive::new(&global.archive_dir, Some(global.links_path.clone()));
    serve::run(listener, archive, shutdown)
        .await
        .with_context(|| format!("the server on {addr} failed"))?;
    Ok(Exit::Success)
}

/// Completes on Ctrl-C (SIGINT), or SIGTERM on Unix. The handlers are installed here, before the
/// address is announced: `tokio::signal::ctrl_c` only installs its handler when first polled, and
/// a Ctrl-C before that would kill the process instead of stopping it gracefully.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
