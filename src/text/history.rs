//! A new capture's text against the link's history: is it the same text as the latest snapshot
//! (a cosmetic change), and how much of the latest and of the first (the cited version) does
//! it keep? Earlier texts are read back from their payloads only when the text hashes differ.

use std::io::Read;
use std::path::Path;

use super::{Comparison, Fingerprint, MAX_HTML, MAX_PDF, compare, hamming, main_text, parse_simhash};
use crate::manifest::{Snapshot, SnapshotText};
use crate::payload::PayloadError;

/// Simhashes at most this many bits apart are the same text, when an earlier capture's text
/// cannot be read back to compare word by word.
const SIMHASH_COSMETIC_BITS: u32 = 3;

/// What a capture's text showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The capture's normalised main text.
    pub text: String,
    /// The snapshot's text fields, compared with the history.
    pub fields: SnapshotText,
}

/// Reads the text of a capture served as `content_type` with payload `bytes`, and compares it
/// with `history` (the link's snapshots, oldest first) in `archive`. `None` for a payload
/// without text (neither HTML nor PDF, too large, an unreadable PDF). Blocking.
pub fn judge(archive: &Path, history: &[Snapshot], content_type: Option<&str>, bytes: &[u8]) -> Option<Judged> {
    let text = main_text(content_type, bytes)?;
    let fingerprint = Fingerprint::of(&text);
    let (to_latest, to_first) = match history {
        [] => (None, None),
        [only] => {
            let to_only = compare_with(archive, only, &text, &fingerprint);
            (Some(to_only), to_only)
        }
        [first, .., latest] => (
            Some(compare_with(archive, latest, &text, &fingerprint)),
            compare_with(archive, first, &text, &fingerprint),
        ),
    };
    let fields = fields(&fingerprint, to_latest, to_first);
    Some(Judged { text, fields })
}

/// The text fields of a capture with `fingerprint`: `to_latest` is `None` for a link's first
/// capture and `Some(None)` when the snapshot before it has no text; `to_first` is `None` when
/// there is no first capture with text to compare with.
fn fields(
    fingerprint: &Fingerprint,
    to_latest: Option<Option<Comparison>>,
    to_first: Option<Comparison>,
) -> SnapshotText {
    let mut fields = SnapshotText::new(fingerprint);
    if let Some(to_latest) = to_latest {
        // Text where there was none (an image before, a page now) is a change.
        fields.cosmetic = to_latest.is_some_and(|c| c.cosmetic);
        fields.similarity = Some(to_latest.map_or(0.0, |c| c.similarity));
        fields.similarity_to_first = to_first.map(|c| c.similarity);
    }
    fields
}

/// Fills in the text fields of the snapshots that lack them (a manifest rebuilt from the WARC
/// files, `linkkeep repair`), reading their payloads back and comparing each text with the
/// snapshot before and with the first, as `archive` did when it captured them. A snapshot
/// whose payload cannot be read keeps no text fields. Blocking.
pub fn fill_history(archive: &Path, snapshots: &mut [Snapshot]) {
    let mut first: Option<Option<String>> = None;
    let mut previous: Option<Option<String>> = None;
    for snapshot in snapshots.iter_mut() {
        let text = snapshot_text(archive, snapshot).ok().flatten();
        if snapshot.text.is_none()
            && let Some(text) = &text
        {
            let compare_to = |earlier: &Option<String>| earlier.as_deref().map(|e| compare(e, text));
            let to_latest = previous.as_ref().map(compare_to);
            let to_first = first.as_ref().and_then(compare_to);
            snapshot.text = Some(fields(&Fingerprint::of(text), to_latest, to_first));
        }
        first.get_or_insert_with(|| text.clone());
        previous = Some(text);
    }
}

/// How `text` (with `fingerprint`) compares with `earlier`'s text; `None` when `earlier` has
/// none.
fn compare_with(archive: &Path, earlier: &Snapshot, text: &str, fingerprint: &Fingerprint) -> Option<Comparison> {
    if let Some(fields) = &earlier.text
        && fields.text_sha256 == fingerprint.sha256
    {
        return Some(compare(text, text));
    }
    match snapshot_text(archive, earlier) {
        Ok(Some(old)) => Some(compare(&old, text)),
        Ok(None) => None,
        Err(e) => {
            // The earlier payload cannot be read back (its WARC file damaged or gone): its
            // simhash still tells near-identical texts from different ones.
            let fields = earlier.text.as_ref()?;
            let old = parse_simhash(&fields.text_simhash)?;
            let bits = hamming(old, fingerprint.simhash);
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

/// The normalised main text of `snapshot`'s payload, read back from the archive; `None` when
/// its payload has no text (not HTML or PDF, or too large to read). Blocking.
pub fn snapshot_text(archive: &Path, snapshot: &Snapshot) -> Result<Option<String>, PayloadError> {
    if snapshot.size > MAX_HTML.max(MAX_PDF) as u64 {
        return Ok(None);
    }
    let mut payload = crate::payload::open(archive, snapshot)?;
    let mut bytes = Vec::with_capacity(snapshot.size as usize);
    payload.read_to_end(&mut bytes).map_err(|e| payload.error_from(e))?;
    Ok(main_text(snapshot.content_type.as_deref(), &bytes))
}
