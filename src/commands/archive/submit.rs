//! The end of `archive --submit`: which captures are submitted, and where the results go
//! (issue #16).
//!
//! The phase runs once the run's own work is compacted into the manifest and the index, so a
//! job is only ever listed in the pending file for a capture the manifest holds durably. Its
//! results (copies and refusals) go into the captures' snapshots through one more atomic save
//! of the manifest, under the run's lock; only then are the finished jobs taken off the pending
//! file. A run killed before that save leaves them listed, and the next run polls them again
//! and finds them (or records them): no result is lost, none is recorded twice.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;

use crate::config::{NetworkConfig, SubmitConfig};
use crate::manifest::ManifestUpdate;
use crate::outcome::{Change, LinkResult, Outcome};
use crate::public_archive::save::pending::{self, pending_path};
use crate::public_archive::save::spn::SpnClient;
use crate::public_archive::save::{Capture, End, Finished, Phase, Placed, place_copy, some_ids};

/// The submission phase of a run with `--submit`, set up before anything is fetched.
#[derive(Debug)]
pub struct Submitter {
    phase: Phase,
    /// The most links submitted in one run.
    max: usize,
}

impl Submitter {
    /// The phase for `config`, with a client of its own built from `network` (a client that
    /// cannot be built stops the run before any request).
    pub fn new(config: &SubmitConfig, network: &NetworkConfig, archive: &Path) -> anyhow::Result<Self> {
        let client = SpnClient::new(&config.endpoint, &config.credentials, network)
            .context("cannot set up HTTP for Save Page Now")?;
        Ok(Self {
            phase: Phase {
                archive: config.archive,
                client,
                jobs: config.jobs,
                wait: config.wait,
                archive_dir: archive.to_owned(),
            },
            max: config.max,
        })
    }

    /// Polls the jobs earlier runs left and submits the run's new and changed captures
    /// (`results`, whose links' entries `manifest` holds); records what came of them in the
    /// manifest, saved again if anything was recorded, and in each submitted link's result.
    /// Returns the warnings: refusals, failures, links not submitted, jobs still running.
    pub async fn run(&self, manifest: &mut ManifestUpdate, results: &mut [LinkResult]) -> anyhow::Result<Vec<String>> {
        let archive = self.phase.archive_dir.as_path();
        let file = pending_path(archive);
        let (earlier, mut warnings) =
            pending::read(archive).with_context(|| format!("cannot read {}", file.display()))?;
        let damaged = !warnings.is_empty();

        let mut wanted = captures_to_submit(manifest, results);
        let over_max = wanted.split_off(self.max.min(wanted.len()));
        if !earlier.is_empty() || !wanted.is_empty() {
            tracing::info!(
                earlier = earlier.len(),
                submitting = wanted.len(),
                "asking Save Page Now"
            );
        }
        let mut collected = self.phase.run(earlier, wanted).await?;
        collected.finished.extend(over_max.into_iter().map(|capture| Finished {
            capture,
            job: None,
            earlier: false,
            end: End::Skipped(format!("over --submit-max {}", self.max)),
        }));

        let mut recorded = false;
        for finished in &collected.finished {
            let End::Recorded(copy) = &finished.end else { continue };
            let capture = &finished.capture;
            let placed = match manifest.entry_mut(&capture.link)? {
                Some(entry) => place_copy(&mut entry.snapshots, capture, copy.clone()),
                None => Placed::NoSnapshot,
            };
            match placed {
                Placed::Added => recorded = true,
                Placed::AlreadyThere => {}
                Placed::NoSnapshot => warnings.push(format!(
                    "the Save Page Now result for {} ({}) is dropped: the manifest no longer holds its capture {} first seen {}",
                    capture.link, capture.url, capture.sha256, capture.first_seen
                )),
            }
        }
        if recorded {
            manifest.updated_at = Some(crate::report::timestamp(chrono::Utc::now()));
            manifest.save(archive)?;
        }
        // Finished jobs leave the file only now that their results are saved.
        let still_pending = collected.still_pending();
        if still_pending != collected.listed || damaged {
            pending::write(archive, &still_pending)?;
        }

        let index: HashMap<&str, usize> = results.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        let mut submissions = Vec::new();
        for finished in collected.finished.iter().filter(|f| !f.earlier) {
            if let Some(&i) = index.get(finished.capture.link.as_str()) {
                submissions.push((i, finished.submission(self.phase.archive)));
            }
        }
        for (i, submission) in submissions {
            results[i].submission = Some(submission);
        }
        warnings.extend(warnings_of(&collected.finished));
        Ok(warnings)
    }
}

/// The captures a run submits: each link's whose capture is `new` or `changed`, in links.json
/// order, as its entry's latest snapshot (the one the run added).
fn captures_to_submit(manifest: &ManifestUpdate, results: &[LinkResult]) -> Vec<Capture> {
    results
        .iter()
        .filter(|r| r.outcome == Outcome::Ok && matches!(r.change, Some(Change::New | Change::Changed)))
        .filter_map(|r| {
            let snapshot = manifest.latest(&r.id)?;
            (Some(&snapshot.sha256) == r.sha256.as_ref()).then(|| Capture {
                link: r.id.clone(),
                url: r.url.clone(),
                sha256: snapshot.sha256.clone(),
                first_seen: snapshot.first_seen.clone(),
            })
        })
        .collect()
}

/// One warning per refusal, and one per reason for the links that failed, were skipped or
/// are still pending.
fn warnings_of(finished: &[Finished]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut failed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut skipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut pending: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
    for f in finished {
        let id = f.capture.link.as_str();
        match &f.end {
            End::Recorded(copy) => match &copy.error {
                Some(reason) => warnings.push(format!(
                    "Save Page Now did not capture {id} ({}): {reason}",
                    f.capture.url
                )),
                None if f.earlier => {
                    tracing::info!(link = %id, "recorded the copy Save Page Now made for an earlier run");
                }
                None => {}
            },
            End::Failed(why) => failed.entry(why).or_default().push(id),
            End::Skipped(why) => skipped.entry(why).or_default().push(id),
            End::Pending(why) => pending.entry(why.as_deref()).or_default().push(id),
        }
    }
    for (why, ids) in failed {
        warnings.push(format!(
            "could not submit {} link(s) to Save Page Now ({}): {why}",
            ids.len(),
            some_ids(ids)
        ));
    }
    for (why, ids) in skipped {
        warnings.push(format!(
            "{} link(s) with a new or changed capture were not submitted to Save Page Now ({}): {why}",
            ids.len(),
            some_ids(ids)
        ));
    }
    for (why, ids) in pending {
        let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
        warnings.push(format!(
            "{} Save Page Now job(s) still running when the run stopped waiting{why} ({}); the next \
             `linkkeep archive --submit wayback` records their results",
            ids.len(),
            some_ids(ids)
        ));
    }
    warnings
}

/// For a run without `--submit`: a warning when earlier runs left jobs it cannot poll (it has
/// no keys).
pub fn pending_warning(archive: &Path) -> Option<String> {
    match pending::read(archive) {
        Ok((jobs, _)) if jobs.is_empty() => None,
        Ok((jobs, _)) => Some(format!(
            "{} Save Page Now job(s) of earlier runs are pending ({}); `linkkeep archive --submit wayback` records their results",
            jobs.len(),
            some_ids(jobs.iter().map(|j| j.link.as_str()))
        )),
        Err(e) => Some(format!("cannot read {}: {e}", pending_path(archive).display())),
    }
}
