//! `linkkeep diff <ID or URL> [--from TIME] [--to TIME|live]`: how the text a reader sees
//! changed between two captures of a link (by default the first, the cited version, and the
//! latest), or between a capture and the page as the link serves it now.
//!
//! The link is named as `get` names it ([`Manifest::find`]), and `--from`/`--to TIME` pick the
//! capture nearest TIME as `get --at` does ([`LinkEntry::capture`]). Each side's payload is read
//! back from its WARC record and checked against its hash ([`payload::open`]); `--to live`
//! fetches the link once through the fetch engine, with the usual network flags, and stores
//! nothing. The text of each side is [`text::main_text`] (HTML main text or PDF text layer,
//! normalised, one line per paragraph), extracted afresh, so snapshots written before linkkeep
//! recorded text fields compare as well as new ones. The passages are [`text::diff`]'s; those
//! that differ only in dates, times or numbers (`cosmetic`) are hidden from the human and
//! Markdown outputs unless `--all`.
//!
//! Exit codes: 0 when the difference was produced, whether or not the texts differ; 2 (an
//! `Err`) for an unknown link, a link without captures, a capture (or live page) that is
//! neither HTML nor PDF, a payload missing or not the recorded bytes, or a live fetch that
//! failed.
//!
//! # Wire format (`--format json`)
//! ```json
//! {"tool": "linkkeep", "version": "0.1.0", "command": "diff", "id": "…", "url": "…",
//!  "from": {"live": false, "first_seen": "…", "last_seen": "…", "sha256": "…",
//!           "text_sha256": "…", "text_words": 812, "content_type": "text/html",
//!           "http_status": 200, "url": "…", "final_url": "…"},
//!  "to": {"live": true, "fetched_at": "…", "sha256": "…", "text_sha256": "…",
//!         "text_words": 815, "content_type": "text/html", "http_status": 200,
//!         "url": "…", "final_url": "…"},
//!  "similarity": 0.97, "cosmetic": false,
//!  "passages": [{"old_line": 3, "new_line": 3, "removed": ["…"], "added": ["…"], "cosmetic": false}]}
//! ```
//! Field by field: [`DiffReport`], [`SideInfo`] and [`text::Passage`]. `passages` lists every
//! changed passage, cosmetic ones included (flagged), whatever `--all` says.

mod render;

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;

use super::archive::request_headers;
use super::{Exit, emit};
use crate::cli::{DiffArgs, DiffFormat};
use crate::config::{Environment, Format, GlobalConfig, NetworkConfig, OutputConfig};
use crate::fetch::download;
use crate::fetch::{BodyError, Fetcher};
use crate::manifest::{LinkEntry, Manifest, Pick, Snapshot, parse_time_flag};
use crate::outcome::Outcome;
use crate::payload;
use crate::report::timestamp;
use crate::text::{self, Fingerprint, Kind, LiveSink, Passage};

/// How many bytes of a payload tell whether it is HTML or a PDF (as [`text::Sample`] looks).
const SNIFF_LEN: usize = 512;

/// What `--to` asks for.
#[derive(Debug)]
enum To {
    /// The capture nearest a time, or the latest.
    Capture(Option<chrono::DateTime<Utc>>),
    /// The page as the link serves it now, fetched with these settings.
    Live(Box<NetworkConfig>),
}

/// Runs `linkkeep diff`.
pub async fn run(global: &GlobalConfig, args: &DiffArgs, env: &Environment) -> anyhow::Result<Exit> {
    let from = parse_time_flag("--from", args.from.as_deref()).map_err(anyhow::Error::msg)?;
    let to = match args.to.as_deref() {
        Some(live) if live.trim().eq_ignore_ascii_case("live") => {
            To::Live(Box::new(NetworkConfig::new(&args.network, env)?))
        }
        other => To::Capture(parse_time_flag("--to", other).map_err(anyhow::Error::msg)?),
    };
    let output = OutputConfig {
        format: match args.format {
            DiffFormat::Human => Format::Human,
            DiffFormat::Json => Format::Json,
            DiffFormat::Markdown => Format::Markdown,
        },
        path: args.output.as_ref().map(|p| env.current_dir.join(p)),
    };
    let archive = &global.archive_dir;
    let manifest = Manifest::load(archive)?;
    let Some((id, entry)) = manifest.find(&args.target) else {
        bail!("no link {:?} in the archive {}", args.target, global.archive_name());
    };
    if entry.snapshots.is_empty() {
        bail!("{id} has no capture to compare yet{}", entry.no_snapshot_why());
    }
    let earlier = entry.capture(from, Pick::First).expect("the link has snapshots");
    let old = read_capture(archive, id, entry, earlier).await?;
    let new = match to {
        To::Capture(at) => {
            let snapshot = entry.capture(at, Pick::Latest).expect("the link has snapshots");
            read_capture(archive, id, entry, snapshot).await?
        }
        To::Live(network) => fetch_live(*network, id, &entry.url).await?,
    };

    // Word and line diffs of long texts take a while: off the runtime's threads.
    let (id, url) = (id.to_owned(), entry.url.clone());
    let report = tokio::task::spawn_blocking(move || DiffReport::new(&id, &url, old, new))
        .await
        .context("the comparing thread failed")?;
    let all = args.all;
    emit(&output, global, "diff", &report.summary_line(), |color, out| {
        report.render(output.format, color, all, out)
    })?;
    Ok(Exit::Success)
}

/// One side of a diff: where its text came from, and the text.
#[derive(Debug, Clone)]
pub struct Side {
    /// What the JSON report says about it.
    pub info: SideInfo,
    /// Its normalised main text, one line per paragraph.
    pub text: String,
    /// How the human and Markdown outputs name it: `first capture`, `latest capture`, ….
    pub role: &'static str,
}

/// A side of the diff as the JSON report has it: a capture of the archive, or the live page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideInfo {
    /// Whether this side is the page fetched now (`--to live`) rather than a capture.
    pub live: bool,
    /// A capture's `first_seen` (RFC 3339 UTC); absent for the live page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// A capture's `last_seen`; absent for the live page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// When the live page was fetched; absent for a capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// SHA-256 of the payload (the body with Content-Encoding removed).
    pub sha256: String,
    /// SHA-256 of the normalised main text compared here (as a snapshot's `text_sha256`).
    pub text_sha256: String,
    /// Words of that text.
    pub text_words: u64,
    /// The `Content-Type` it was served with.
    pub content_type: Option<String>,
    /// The status of the response that carried it.
    pub http_status: Option<u16>,
    /// The URL requested.
    pub url: Option<String>,
    /// The URL that served it, after redirects.
    pub final_url: String,
}

/// The difference between two sides, as every format reports it.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Always `linkkeep`.
    pub tool: &'static str,
    /// The linkkeep version that ran.
    pub version: &'static str,
    /// Always `diff`.
    pub command: &'static str,
    /// The link's id.
    pub id: String,
    /// The link's URL as the manifest has it.
    pub url: String,
    /// The earlier side (`--from`).
    pub from: SideInfo,
    /// The later side (`--to`).
    pub to: SideInfo,
    /// 0–1: how much of the text the two sides share (1 for the same text).
    pub similarity: f64,
    /// The texts are the same, or differ only in dates, times and numbers.
    pub cosmetic: bool,
    /// Every changed passage, in order, cosmetic ones flagged.
    pub passages: Vec<Passage>,
    /// The sides, texts included, for the human and Markdown outputs.
    #[serde(skip)]
    sides: [Side; 2],
}

impl DiffReport {
    /// Compares `old` with `new`.
    pub fn new(id: &str, url: &str, old: Side, new: Side) -> Self {
        let comparison = text::compare(&old.text, &new.text);
        let passages = text::diff(&old.text, &new.text);
        Self {
            tool: "linkkeep",
            version: crate::VERSION,
            command: "diff",
            id: id.to_owned(),
            url: url.to_owned(),
            from: old.info.clone(),
            to: new.info.clone(),
            similarity: comparison.similarity,
            cosmetic: comparison.cosmetic,
            passages,
            sides: [old, new],
        }
    }

    /// The one-line summary: `doc: similarity 0.871; 1 changed passage, 2 cosmetic`.
    pub fn summary_line(&self) -> String {
        let cosmetic = self.passages.iter().filter(|p| p.cosmetic).count();
        let changed = self.passages.len() - cosmetic;
        format!(
            "{}: similarity {}; {changed} changed passage{}, {cosmetic} cosmetic",
            self.id,
            render::similarity(self.similarity),
            if changed == 1 { "" } else { "s" }
        )
    }

    /// Writes the report in `format` (`color` for the human one; `all` shows cosmetic
    /// passages too).
    pub fn render(&self, format: Format, color: bool, all: bool, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
            Format::Markdown => out.write_all(render::markdown(self, all).as_bytes()),
            Format::Human | Format::Junit => out.write_all(render::human(self, color, all).as_bytes()),
        }
    }
}

/// Reads a capture's payload back (checked against its hash) and extracts its text; on the
/// blocking pool, where file reads and parsing belong.
pub async fn read_capture(archive: &Path, id: &str, entry: &LinkEntry, snapshot: &Snapshot) -> anyhow::Result<Side> {
    let role = if std::ptr::eq(snapshot, &entry.snapshots[0]) {
        "first capture"
    } else if std::ptr::eq(snapshot, entry.snapshots.last().expect("not empty")) {
        "latest capture"
    } else {
        "capture"
    };
    let (archive, owned) = (archive.to_owned(), snapshot.clone());
    let what = format!("the capture of {id} of {}", snapshot.first_seen);
    let text = tokio::task::spawn_blocking(move || capture_text(&archive, &owned, &what))
        .await
        .context("the reading thread failed")??;
    let fingerprint = Fingerprint::of(&text);
    Ok(Side {
        info: SideInfo {
            live: false,
            first_seen: Some(snapshot.first_seen.clone()),
            last_seen: Some(snapshot.last_seen.clone()),
            fetched_at: None,
            sha256: snapshot.sha256.clone(),
            text_sha256: fingerprint.sha256,
            text_words: fingerprint.words,
            content_type: snapshot.content_type.clone(),
            http_status: Some(snapshot.http_status),
            url: snapshot.url.clone(),
            final_url: snapshot.final_url.clone(),
        },
        text,
        role,
    })
}

/// The text of a capture (`what`, for messages). Only HTML and PDF payloads are read whole.
fn capture_text(archive: &Path, snapshot: &Snapshot, what: &str) -> anyhow::Result<String> {
    let cannot_read = || format!("cannot read {what}");
    let mut payload = payload::open(archive, snapshot).with_context(cannot_read)?;
    let mut bytes = Vec::new();
    let head = (&mut payload).take(SNIFF_LEN as u64).read_to_end(&mut bytes);
    head.map_err(|e| payload.error_from(e)).with_context(cannot_read)?;
    let content_type = snapshot.content_type.as_deref();
    let kind = textual(what, "captures", content_type, &bytes, snapshot.size)?;
    payload.copy_to(&mut bytes).with_context(cannot_read)?;
    text_of(what, kind, content_type, &bytes)
}

/// The kind of text a payload of `size` bytes served as `content_type` and starting with
/// `head` has, or the error saying why `diff` cannot compare it (`what`: a capture, or a live
/// page, as `kinds` says).
fn textual(what: &str, kinds: &str, content_type: Option<&str>, head: &[u8], size: u64) -> anyhow::Result<Kind> {
    let Some(kind) = crate::title::classify(content_type, head) else {
        let served = match content_type {
            Some(ct) => format!("is {}", crate::report::terminal_safe(ct)),
            None => "has no content type and is neither HTML nor PDF by its first bytes".into(),
        };
        bail!("{what} {served}; diff compares the text of HTML and PDF {kinds}");
    };
    let limit = match kind {
        Kind::Html => text::MAX_HTML,
        Kind::Pdf => text::MAX_PDF,
    };
    if size > limit as u64 {
        bail!(
            "{what} is too large to compare: {size} bytes (diff reads the text of HTML pages up to {} MiB and of PDFs up to {} MiB)",
            text::MAX_HTML >> 20,
            text::MAX_PDF >> 20
        );
    }
    Ok(kind)
}

/// The normalised main text of a payload `textual` accepted.
fn text_of(what: &str, kind: Kind, content_type: Option<&str>, bytes: &[u8]) -> anyhow::Result<String> {
    match text::main_text(content_type, bytes) {
        Some(text) => Ok(text),
        None if kind == Kind::Pdf => bail!("{what} is a PDF whose text cannot be read"),
        None => bail!("{what} has no text that can be read"),
    }
}

/// Fetches the link's page now, once (with the usual retries), and extracts its text; nothing
/// is stored.
async fn fetch_live(network: NetworkConfig, id: &str, url: &str) -> anyhow::Result<Side> {
    let parsed = url::Url::parse(url).with_context(|| format!("{id}: {url:?} is not a URL"))?;
    let fetcher = Fetcher::new(network).context("cannot set up HTTP")?;
    if let Some(why) = fetcher.exclusion(url) {
        bail!("{id}: the live page {url} is excluded: it {why}");
    }
    let fetched_at = Utc::now();
    let fetcher = &fetcher;
    let fetched = fetcher
        .fetch(&parsed, &request_headers(None), |response, deadline| async move {
            let limits = fetcher.body_limits(response.url());
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = LiveSink::new(content_type.as_deref());
            // Writing into memory cannot fail.
            let _ = download::download(response, deadline, limits, &mut body, None).await?;
            Ok::<_, BodyError>(body.finish())
        })
        .await;
    let content_type = fetched.header(CONTENT_TYPE);
    let what = format!("the live page of {id} ({})", fetched.final_url);
    let body = match (fetched.outcome, fetched.body) {
        (Outcome::Ok, Some(body)) => body,
        (outcome, _) => bail!(
            "cannot fetch the live page of {id} ({url}): {outcome}: {}",
            fetched.error.as_deref().unwrap_or("no body")
        ),
    };
    let kind = textual(&what, "pages", content_type.as_deref(), &body.head, body.size)?;
    let sha256 = body.sha256;
    let Some((_, bytes)) = body.text_payload else {
        bail!("{what} could not be read whole for its text");
    };
    let text = {
        let content_type = content_type.clone();
        tokio::task::spawn_blocking(move || text_of(&what, kind, content_type.as_deref(), &bytes))
            .await
            .context("the text thread failed")??
    };
    let fingerprint = Fingerprint::of(&text);
    Ok(Side {
        info: SideInfo {
            live: true,
            first_seen: None,
            last_seen: None,
            fetched_at: Some(timestamp(fetched_at)),
            sha256,
            text_sha256: fingerprint.sha256,
            text_words: fingerprint.words,
            content_type,
            http_status: fetched.http_status.map(|s| s.as_u16()),
            url: Some(url.to_owned()),
            final_url: fetched.final_url.to_string(),
        },
        text,
        role: "live page",
    })
}
