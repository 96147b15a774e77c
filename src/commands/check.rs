//! `linkkeep check`: is every cited link still there? Concurrent GETs that stop after the
//! response headers, and a soft-404 verdict on every ok answer ([`crate::soft404`]: a page is
//! read whole only when its site answers a random sibling path with 200); nothing is stored.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use tracing::Instrument;

use super::{Exit, emit_report, load_run_links, public_archive_lookups};
use crate::cli::CheckArgs;
use crate::config::{Environment, GlobalConfig, NetworkConfig, OutputConfig};
use crate::fetch::{Fetched, Fetcher};
use crate::links::Link;
use crate::manifest::Manifest;
use crate::outcome::LinkResult;
use crate::progress::Progress;
use crate::report::{Report, new_run_id};
use crate::schedule::Window;
use crate::soft404::Soft404;

/// Runs `linkkeep check`.
pub async fn run(global: &GlobalConfig, args: &CheckArgs, env: &Environment) -> anyhow::Result<Exit> {
    let network = NetworkConfig::new(&args.network, env)?;
    let output = OutputConfig::new(&args.output, env);
    let links = load_run_links(&global.links_path, args.shard.shard)?.file;
    let mut lookups = public_archive_lookups(&args.public_archive, &network)?;
    let fetcher = Arc::new(Fetcher::new(network).context("cannot set up HTTP")?);
    let mut warnings = Vec::new();
    let cited = match &lookups {
        Some(_) => cited_captures(&global.archive_dir, &mut warnings),
        None => HashMap::new(),
    };

    let started = Utc::now();
    let run_id = new_run_id(started);
    let progress = Arc::new(Progress::new(
        global.progress && global.verbose == 0,
        links.links.len(),
        "checking",
    ));
    let soft_404 = Arc::new(Soft404::new(fetcher.config().soft_404_probes));
    let mut results = check_links(&fetcher, &soft_404, &links.links, &progress, |index, result| {
        if let Some(lookups) = &mut lookups {
            let link = &links.links[index];
            lookups.start(index, link, result.outcome, cited.get(&link.id).map(String::as_str));
        }
    })
    .await;
    progress.finish();
    if let Some(lookups) = lookups {
        warnings.extend(lookups.finish(&mut results).await);
    }

    let mut report = Report::new("check", run_id, started, Utc::now(), results);
    report.shard = args.shard.shard;
    report.warnings = warnings;
    emit_report(&report, &output, global)?;
    Ok(if report.has_failures() {
        Exit::Failures
    } else {
        Exit::Success
    })
}

/// With `--public-archive`: when each link's cited capture (its first snapshot) was made, by
/// link id, from the archive's manifest, read and never written. `check` needs no archive: without
/// one (or with one it cannot read, which is a warning) copies are sought as of now.
fn cited_captures(archive: &Path, warnings: &mut Vec<String>) -> HashMap<String, String> {
    match Manifest::load(archive) {
        Ok(manifest) => manifest
            .links
            .into_iter()
            .filter_map(|(id, entry)| Some((id, entry.snapshots.into_iter().next()?.first_seen)))
            .collect(),
        Err(e) => {
            let warning = format!(
                "cannot read the cited captures' dates from {}: {:#}; public copies are the latest",
                archive.display(),
                anyhow::Error::new(e)
            );
            tracing::warn!("{warning}");
            warnings.push(warning);
            HashMap::new()
        }
    }
}

/// Checks every link concurrently (within the fetcher's limits) and returns the results in
/// the order of `links`, whatever order they finish in. `on_result` sees each result as it
/// comes, with the index of its link.
pub async fn check_links(
    fetcher: &Arc<Fetcher>,
    soft_404: &Arc<Soft404>,
    links: &[Link],
    progress: &Arc<Progress>,
    mut on_result: impl FnMut(usize, &LinkResult),
) -> Vec<LinkResult> {
    let task = |index: usize| {
        let fetcher = Arc::clone(fetcher);
        let soft_404 = Arc::clone(soft_404);
        let progress = Arc::clone(progress);
        let link = links[index].clone();
        let span = tracing::info_span!("link", id = %link.id);
        async move {
            let result = check_link(&fetcher, &soft_404, &link).await;
            progress.link_done(result.outcome.is_failure());
            result
        }
        .instrument(span)
    };
    let mut window = Window::for_fetcher(links, fetcher);
    window.fill(task);
    let mut results: Vec<Option<LinkResult>> = vec![None; links.len()];
    while let Some((index, result)) = window.next().await {
        on_result(index, &result);
        results[index] = Some(result);
        window.fill(task);
    }
    results
        .into_iter()
        .map(|r| r.expect("every link has a result"))
        .collect()
}

/// Checks one link: GET, follow redirects, stop after the final response's headers; then ask
/// whether an ok answer is a soft-404 (reading the page's text only if a probe needs it).
pub async fn check_link(fetcher: &Fetcher, soft_404: &Soft404, link: &Link) -> LinkResult {
    if let Some(why) = fetcher.exclusion(&link.url) {
        return LinkResult::excluded(&link.id, &link.url, why);
    }
    // Dropping the response unread is what "stop after the headers" means.
    let fetched = fetcher
        .fetch(&link.parsed, &HeaderMap::new(), |_response, _deadline| async { Ok(()) })
        .await;
    tracing::debug!(outcome = %fetched.outcome, attempts = fetched.attempts, "checked");
    let mut result = result_of(link, fetched);
    soft_404
        .judge_result(fetcher, link, &mut result, async |final_url| {
            // The body was not read: read it now, for its text only.
            crate::soft404::fetch_text(fetcher, &final_url).await?.1
        })
        .await;
    result
}

/// The report entry for a fetch, without what only reading the body can tell (hash, change).
pub fn result_of<T>(link: &Link, fetched: Fetched<T>) -> LinkResult {
    LinkResult {
        id: link.id.clone(),
        url: link.url.clone(),
        outcome: fetched.outcome,
        http_status: fetched.http_status.map(|s| s.as_u16()),
        final_url: Some(fetched.final_url.to_string()),
        attempts: fetched.attempts,
        elapsed_ms: fetched.elapsed.as_millis() as u64,
        content_type: fetched.header(CONTENT_TYPE),
        size: fetched.header(CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        sha256: None,
        change: None,
        similarity: None,
        similarity_to_first: None,
        error: fetched.error,
        public_copy: None,
        submission: None,
        requisites: None,
        redirects: fetched.redirects,
    }
}
