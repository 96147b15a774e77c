//! `verify --live`'s drift: how the live page compares with the link's latest snapshot
//! (`unchanged`, `cosmetic`, `changed` with a similarity) and with its first, the cited version
//! (issue #14). Earlier texts are read back from their payloads only when the text hashes
//! recorded in the manifest do not already answer, and snapshots written before linkkeep read
//! text (no `text_*` fields) are read back too.

use std::path::Path;

use crate::manifest::Snapshot;
use crate::outcome::Change;
pub use crate::text::LiveBody;
use crate::text::{self, Fingerprint};

/// What the server answered, as far as drift goes.
#[derive(Debug)]
pub enum Live {
    /// 304 to the latest snapshot's validators: it is still what the server serves.
    NotModified,
    /// A body.
    Body(LiveBody),
}

/// How the live page compares with a link's snapshots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Against the latest snapshot.
    pub change: Change,
    /// For `changed` with live text: how much of the latest snapshot's text it keeps (0 when
    /// that has none).
    pub similarity: Option<f64>,
    /// How much of the first snapshot's text (the cited version) it keeps, when both have text.
    pub similarity_to_first: Option<f64>,
}

/// Compares `live` with `history` (a link's snapshots, oldest first) in `archive`, as
/// `archive` would compare it as a new capture ([`text::judge`]). Blocking: it reads the main
/// text of the live page and, where the manifest's text fields do not tell, of the snapshots'
/// payloads.
pub fn judge(archive: &Path, history: &[Snapshot], live: Live) -> Drift {
    let Some(latest) = history.last() else {
        return Drift {
            change: Change::New,
            similarity: None,
            similarity_to_first: None,
        };
    };
    let body = match live {
        Live::Body(body) if body.sha256 != latest.sha256 => body,
        // The live page is the latest snapshot.
        Live::Body(body) => return unchanged(archive, history, body.text_payload),
        Live::NotModified => return unchanged(archive, history, None),
    };
    let judged = body
        .text_payload
        .and_then(|(content_type, bytes)| text::judge(archive, history, content_type.as_deref(), &bytes));
    match judged.map(|j| j.fields) {
        Some(fields) if fields.cosmetic => Drift {
            change: Change::Cosmetic,
            similarity: None,
            similarity_to_first: fields.similarity_to_first,
        },
        Some(fields) => Drift {
            change: Change::Changed,
            similarity: fields.similarity,
            similarity_to_first: fields.similarity_to_first,
        },
        // Without text, the bytes are all there is to compare.
        None => Drift {
            change: Change::Changed,
            similarity: None,
            similarity_to_first: None,
        },
    }
}

/// The drift of a live page that is the latest snapshot (the same bytes, or a 304): the
/// snapshot's own drift from the cited version, as `archive` recorded it, or worked out here
/// for snapshots written before linkkeep read text. `live` is the live payload, when there is
/// one to read the text of.
fn unchanged(archive: &Path, history: &[Snapshot], live: Option<(Option<String>, Vec<u8>)>) -> Drift {
    let (first, latest) = (&history[0], &history[history.len() - 1]);
    let live_text = || match &live {
        Some((content_type, bytes)) => text::main_text(content_type.as_deref(), bytes),
        None => read_text(archive, latest),
    };
    let similarity_to_first = if history.len() == 1 {
        // The cited version itself.
        (latest.text.is_some() || live_text().is_some()).then_some(1.0)
    } else if let Some(recorded) = latest.text.as_ref().and_then(|t| t.similarity_to_first) {
        Some(recorded)
    } else {
        live_text().and_then(|text| similarity_to(archive, first, &text))
    };
    Drift {
        change: Change::Unchanged,
        similarity: None,
        similarity_to_first,
    }
}

/// How much of `earlier`'s text `text` keeps; `None` when `earlier` has no text or cannot be
/// read back (fixity reports that on its own).
fn similarity_to(archive: &Path, earlier: &Snapshot, text: &str) -> Option<f64> {
    let same = earlier
        .text
        .as_ref()
        .is_some_and(|t| t.text_sha256 == Fingerprint::of(text).sha256);
    if same {
        return Some(1.0);
    }
    read_text(archive, earlier).map(|old| text::compare(&old, text).similarity)
}

/// [`text::snapshot_text`], with a payload that cannot be read counted as no text.
fn read_text(archive: &Path, snapshot: &Snapshot) -> Option<String> {
    text::snapshot_text(archive, snapshot)
        .inspect_err(|e| tracing::warn!("cannot read the capture of {}: {e}", snapshot.first_seen))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SnapshotText;

    const PAGE: &str = "<!doctype html><html><head><title>T</title></head><body><article>\
        <p>The working group met in Geneva to discuss enhanced cooperation on public policy \
        issues pertaining to the Internet, and could not agree on recommendations.</p>\
        </article></body></html>";

    /// A snapshot of a payload whose bytes are nowhere: every test here must be answered by
    /// the manifest's fields, or fail to read.
    fn snapshot(sha256: &str, text: Option<&str>, similarity_to_first: Option<f64>) -> Snapshot {
        let mut value = serde_json::json!({
            "sha256": sha256, "size": 10, "content_type": "text/html",
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z",
            "http_status": 200, "final_url": "http://a.example/", "etag": null,
            "last_modified": null, "title": null, "run": "r"
        });
        let mut snapshot: Snapshot = serde_json::from_value(value.take()).unwrap();
        snapshot.text = text.map(|t| SnapshotText {
            similarity_to_first,
            ..SnapshotText::new(&Fingerprint::of(t))
        });
        snapshot
    }

    fn body(sha256: &str, html: &str) -> Live {
        Live::Body(LiveBody {
            sha256: sha256.into(),
            size: html.len() as u64,
            text_payload: Some((Some("text/html".into()), html.as_bytes().to_vec())),
            head: Vec::new(),
        })
    }

    #[test]
    fn same_bytes_as_the_cited_capture_are_unchanged_and_all_as_cited() {
        let text = text::main_text(Some("text/html"), PAGE.as_bytes()).unwrap();
        let archive = tempfile::tempdir().unwrap();
        let history = [snapshot("a", Some(&text), None)];
        let drift = judge(archive.path(), &history, body("a", PAGE));
        assert_eq!(drift.change, Change::Unchanged);
        assert_eq!(drift.similarity_to_first, Some(1.0));
        // A 304 says the same.
        let drift = judge(archive.path(), &history, Live::NotModified);
        assert_eq!(drift.similarity_to_first, Some(1.0));
    }

    #[test]
    fn same_bytes_as_a_later_capture_take_its_recorded_drift() {
        let archive = tempfile::tempdir().unwrap();
        let history = [snapshot("a", Some("old"), None), snapshot("b", Some("new"), Some(0.62))];
        let drift = judge(archive.path(), &history, Live::NotModified);
        assert_eq!(
            (drift.change, drift.similarity_to_first),
            (Change::Unchanged, Some(0.62))
        );
    }

    #[test]
    fn new_bytes_with_the_latest_text_are_cosmetic_without_reading_a_payload() {
        let text = text::main_text(Some("text/html"), PAGE.as_bytes()).unwrap();
        let archive = tempfile::tempdir().unwrap();
        let history = [snapshot("a", Some(&text), None)];
        let noisy = PAGE.replace("<title>T</title>", "<title>T</title><script>var nonce=42;</script>");
        let drift = judge(archive.path(), &history, body("b", &noisy));
        assert_eq!(drift.change, Change::Cosmetic);
        assert_eq!(drift.similarity, None);
        assert_eq!(drift.similarity_to_first, Some(1.0));
    }

    #[test]
    fn a_body_without_text_is_compared_by_bytes_only() {
        let archive = tempfile::tempdir().unwrap();
        let history = [snapshot("a", None, None)];
        let live = Live::Body(LiveBody {
            sha256: "b".into(),
            size: 3,
            text_payload: None,
            head: Vec::new(),
        });
        let drift = judge(archive.path(), &history, live);
        assert_eq!(
            drift,
            Drift {
                change: Change::Changed,
                similarity: None,
                similarity_to_first: None
            }
        );
        assert_eq!(judge(archive.path(), &[], Live::NotModified).change, Change::New);
    }

    #[test]
    fn an_unreadable_snapshot_is_compared_by_its_simhash() {
        let text = text::main_text(Some("text/html"), PAGE.as_bytes()).unwrap();
        let archive = tempfile::tempdir().unwrap();
        // The recorded text hash differs (as if normalised differently), the simhash is the same.
        let mut latest = snapshot("a", Some(&text), None);
        latest.text.as_mut().unwrap().text_sha256 = "0".repeat(64);
        latest.object = Some("objects/sha256/aa/gone".into());
        let drift = judge(archive.path(), &[latest], body("b", PAGE));
        assert_eq!(drift.change, Change::Cosmetic);
        assert_eq!(drift.similarity_to_first, Some(1.0));
    }
}
