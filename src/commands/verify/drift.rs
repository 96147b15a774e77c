//! `verify --live`'s drift: how the live page compares with the link's latest snapshot
//! (`unchanged`, `cosmetic`, `changed` with a similarity) and with its first, the cited version
//! (issue #14). Earlier texts are read back from their payloads only when the text hashes
//! recorded in the manifest do not already answer, and snapshots written before linkkeep read
//! text (no `text_*` fields) are read back too.

use std::io::{self, Read};
use std::path::Path;

use crate::manifest::Snapshot;
use crate::outcome::Change;
use crate::payload::{self, PayloadError};
use crate::store::{HashSink, PayloadSink};
use crate::text::{self, Comparison, Fingerprint, Sample};

/// Simhashes at most this many bits apart are the same text, when a snapshot's text cannot be
/// read back to compare word by word (its payload is damaged: `verify` reports that itself).
const SIMHASH_COSMETIC_BITS: u32 = 3;

/// What `verify --live` keeps of a live body while it streams by: its hash and size, and, for
/// HTML and PDF up to [`text::MAX_HTML`] / [`text::MAX_PDF`], its bytes (for the main text).
#[derive(Debug)]
pub struct LiveSink {
    hash: HashSink,
    sample: Sample,
}

impl LiveSink {
    /// A sink for a body served as `content_type`.
    pub fn new(content_type: Option<&str>) -> Self {
        Self {
            hash: HashSink::default(),
            sample: Sample::new(content_type),
        }
    }

    /// The body's SHA-256 and size, and the payload its text is read from, if it may have one.
    pub fn finish(self) -> LiveBody {
        let (sha256, size) = self.hash.finish();
        LiveBody {
            sha256,
            size,
            text_payload: self.sample.into_payload(),
        }
    }
}

impl PayloadSink for LiveSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.write(bytes)?;
        self.sample.push(bytes);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.hash.size()
    }
}

/// A live body, downloaded.
#[derive(Debug)]
pub struct LiveBody {
    /// SHA-256 of the payload, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its content type and bytes, when it is HTML or PDF small enough to read the text of.
    pub text_payload: Option<(Option<String>, Vec<u8>)>,
}

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
    /// For `changed` with text on both sides: how much of the latest snapshot's text it keeps.
    pub similarity: Option<f64>,
    /// How much of the first snapshot's text (the cited version) it keeps, when both have text.
    pub similarity_to_first: Option<f64>,
}

/// Compares `live` with `history` (a link's snapshots, oldest first) in `archive`. Blocking:
/// it reads the main text of the live page and, where the manifest's text fields do not tell,
/// of the snapshots' payloads.
pub fn judge(archive: &Path, history: &[Snapshot], live: Live) -> Drift {
    let (Some(first), Some(latest)) = (history.first(), history.last()) else {
        return Drift {
            change: Change::New,
            similarity: None,
            similarity_to_first: None,
        };
    };
    let latest_is_first = history.len() == 1;
    let (same_bytes, live_text) = match live {
        Live::NotModified => (true, None),
        Live::Body(body) => {
            let text = body
                .text_payload
                .and_then(|(content_type, bytes)| text::main_text(content_type.as_deref(), &bytes));
            (body.sha256 == latest.sha256, text)
        }
    };

    if same_bytes {
        // The live page is the latest snapshot: its drift from the cited version is the
        // snapshot's own, recorded by `archive` or worked out here for older snapshots.
        let similarity_to_first = if latest_is_first {
            let has_text = latest.text.is_some() || live_text.is_some() || read_text(archive, latest).is_some();
            has_text.then_some(1.0)
        } else if let Some(recorded) = latest.text.as_ref().and_then(|t| t.similarity_to_first) {
            Some(recorded)
        } else {
            live_text
                .or_else(|| read_text(archive, latest))
                .and_then(|text| compare_with(archive, first, &text, &Fingerprint::of(&text)))
                .map(|c| c.similarity)
        };
        return Drift {
            change: Change::Unchanged,
            similarity: None,
            similarity_to_first,
        };
    }

    // Different bytes; without text on both sides, the bytes are all there is to compare.
    let Some(text) = live_text else {
        return Drift {
            change: Change::Changed,
            similarity: None,
            similarity_to_first: None,
        };
    };
    let fingerprint = Fingerprint::of(&text);
    let to_latest = compare_with(archive, latest, &text, &fingerprint);
    let (change, similarity) = match to_latest {
        Some(c) if c.cosmetic => (Change::Cosmetic, None),
        Some(c) => (Change::Changed, Some(c.similarity)),
        None => (Change::Changed, None),
    };
    let similarity_to_first = if latest_is_first {
        to_latest.map(|c| c.similarity)
    } else {
        compare_with(archive, first, &text, &fingerprint).map(|c| c.similarity)
    };
    Drift {
        change,
        similarity,
        similarity_to_first,
    }
}

/// How `text` (with `fingerprint`) compares with `earlier`'s text; `None` when `earlier` has
/// none.
fn compare_with(archive: &Path, earlier: &Snapshot, text: &str, fingerprint: &Fingerprint) -> Option<Comparison> {
    if earlier
        .text
        .as_ref()
        .is_some_and(|t| t.text_sha256 == fingerprint.sha256)
    {
        return Some(text::compare(text, text));
    }
    match snapshot_text(archive, earlier) {
        Ok(Some(old)) => Some(text::compare(&old, text)),
        Ok(None) => None,
        Err(e) => {
            // The snapshot's payload cannot be read back (fixity reports that on its own): its
            // simhash still tells near-identical texts from different ones.
            let recorded = earlier.text.as_ref()?;
            let old = text::parse_simhash(&recorded.text_simhash)?;
            let bits = text::hamming(old, fingerprint.simhash);
            tracing::warn!(
                "cannot read the capture of {} to compare texts ({e}); compared by simhash ({bits} bits apart)",
                earlier.first_seen
            );
            Some(Comparison {
                similarity: (1.0 - f64::from(bits) / 32.0).max(0.0),
                cosmetic: bits <= SIMHASH_COSMETIC_BITS,
            })
        }
    }
}

/// [`snapshot_text`], with a payload that cannot be read counted as no text.
fn read_text(archive: &Path, snapshot: &Snapshot) -> Option<String> {
    snapshot_text(archive, snapshot)
        .inspect_err(|e| tracing::warn!("cannot read the capture of {}: {e}", snapshot.first_seen))
        .ok()
        .flatten()
}

/// The normalised main text of `snapshot`'s payload, read back (hash-checked) from the
/// archive; `None` when it has no text (not HTML or PDF, or too large to read). Blocking.
fn snapshot_text(archive: &Path, snapshot: &Snapshot) -> Result<Option<String>, PayloadError> {
    if snapshot.size > text::MAX_HTML.max(text::MAX_PDF) as u64 {
        return Ok(None);
    }
    let mut payload = payload::open(archive, snapshot)?;
    let mut bytes = Vec::with_capacity(snapshot.size as usize);
    payload.read_to_end(&mut bytes).map_err(|e| payload.error_from(e))?;
    Ok(text::main_text(snapshot.content_type.as_deref(), &bytes))
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
