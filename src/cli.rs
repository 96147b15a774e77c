//! Command-line definitions (clap) and nothing else: values are validated in [`crate::config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Check, archive and verify the web pages a document cites.
#[derive(Debug, Parser)]
#[command(name = "linkkeep", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The list of cited URLs.
    #[arg(long, global = true, value_name = "PATH", default_value = "links.json")]
    pub links: PathBuf,

    /// The archive directory.
    #[arg(long, global = true, value_name = "DIR", default_value = "archive")]
    pub archive: PathBuf,

    /// Print nothing but errors and the report.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to each link (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never show a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// When to colour the human report (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The configuration file (default: `linkkeep.toml` beside the links file, when there is
    /// one). User defaults come from `$XDG_CONFIG_HOME/linkkeep/config.toml` (or
    /// `~/.config/linkkeep/config.toml`); flags win over both.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that every link answers: concurrent GET requests, nothing stored.
    Check(CheckArgs),
    /// Download every link, store new content as snapshots and update the manifest.
    Archive(ArchiveArgs),
    /// Show every archived link: last outcome, when, snapshots, latest hash and title.
    Status(StatusArgs),
    /// Write a snapshot's payload (the body as a browser would save it, read from its WARC
    /// record and checked against its hash) to stdout or a file.
    Get(GetArgs),
    /// Check that every snapshot's payload exists and matches its hash (read back from its WARC
    /// record, or its 0.1.0 object) and that every WARC file is whole; `--live` also compares
    /// each link with what it serves now.
    Verify(VerifyArgs),
    /// Remove object files of 0.1.0 archives (`objects/`) that no snapshot references.
    Gc(GcArgs),
    /// Browse the archive: a read-only, Wayback-style replay server.
    Serve(ServeArgs),
    /// Find the URLs cited in text, Markdown, HTML and PDF documents; print links.json.
    Extract(ExtractArgs),
    /// Show how the text a reader sees changed between two captures of a link, or between a
    /// capture and the live page.
    ///
    /// Compares the main text of HTML pages (navigation, scripts, ads and "related" boxes
    /// removed) and the text layer of PDFs, one line per paragraph: by default the first
    /// capture (the cited version) with the latest. Passages that differ only in dates, times or
    /// numbers are hidden unless `--all`. Nothing is written to the archive, not even with
    /// `--to live`. Exit codes: 0 when the difference was shown (whether or not the texts
    /// differ), 2 when it could not be (an unknown link, a link without captures, a capture
    /// that is neither HTML nor PDF, a damaged payload, a live fetch that failed).
    Diff(DiffArgs),
    /// Pack the archive for other tools: WACZ (WARCs, CDXJ index, pages, data package), or
    /// every snapshot's payload as a plain file.
    ///
    /// `--files DIR` writes each snapshot's payload (as a browser would save it) to
    /// `DIR/<id>/<timestamp>.<ext>`: the capture's first-seen time as 14 digits, the extension
    /// from its content type, and `DIR/SHA256SUMS` for `sha256sum -c`. Each file appears whole
    /// or not at all. A file already there with the same bytes is kept; one with other bytes is
    /// never overwritten: the export then writes nothing and exits 2. Exit codes: 0 when every
    /// payload was exported, 1 when some could not be read back intact (the others are written),
    /// 2 when the export could not run.
    Export(ExportArgs),
    /// Rebuild index.cdxj from the WARC files and, when it is missing or damaged, the manifest
    /// from the WARC files and run reports; recover killed runs' journals.
    ///
    /// Nothing is deleted (but, with `--migrate`, 0.1.0 object files whose payloads WARC records
    /// now hold): a WARC file with nothing readable is moved to `damaged/`, a manifest that does
    /// not parse to `manifest.json.damaged-<time>`. A manifest that parses is kept;
    /// snapshots pointing at WARC records that are not there are reported. Exit codes: 0 when
    /// everything was rebuilt (fields that could only be approximated are listed), 1 when
    /// something could not be recovered (unreadable WARC data, a WARC file without its run
    /// report, a capture whose record is gone), 2 when the repair could not run (archive locked
    /// by another run, an unreadable journal, I/O error).
    Repair(RepairArgs),
    /// Cite the archived links: title, publisher, URL, the cited capture's date and SHA-256,
    /// and its archived copies, as Robust Links HTML, Markdown, wikitext, BibLaTeX, CSL-JSON or
    /// text; or make the links of a citing document robust (`--robustify`).
    ///
    /// Every link of links.json is cited, in its order (the manifest's links when there is no
    /// links.json), or those named by id or URL. The cited capture is a link's first (the cited
    /// version), or the one nearest `--at`. Its copies are this archive's, replayed by
    /// `linkkeep serve` at `--replay-base` (`<base>/web/<timestamp>/<url>`), and those public
    /// archives made of it (`archive --submit`). A link without a capture is cited without them,
    /// with a warning. Exit codes: 0 when the citations were written, 2 when they could not be
    /// (an unknown link, an unreadable manifest, links.json or document, a bad flag).
    Cite(CiteArgs),
    /// Print the effective configuration as TOML: what flags, configuration files and
    /// defaults make of every setting, and the `[[hosts]]` rules.
    ///
    /// Takes every flag `check`, `archive` and `verify` take, so that `linkkeep config
    /// --timeout 5` shows what a run with `--timeout 5` would use. Secrets are never printed:
    /// header values from environment variables are shown as written (`${TOKEN}`), other
    /// values of `Authorization`, `Cookie` and `Proxy-Authorization`, and proxy passwords, as
    /// `[redacted]`. Exit codes: 0 when printed, 2 when a configuration file or flag is bad.
    Config(ConfigArgs),
}

/// Flags of `linkkeep config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Say where each value came from: `flag`, `FILE:LINE:COLUMN`, or `default`.
    #[arg(long)]
    pub explain: bool,

    /// Every flag of `archive`, which takes all the others'.
    #[command(flatten)]
    pub run: ArchiveArgs,
}

/// Flags of `linkkeep repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Say what would be rebuilt or moved, write nothing (and take no lock).
    #[arg(long)]
    pub dry_run: bool,

    /// Also move an archive of linkkeep 0.1.0 to the current layout: each payload kept in
    /// `objects/` goes into a WARC record (its own response record when that holds it, else a
    /// resource record in a new `warc/<run-id>.warc.gz`), the manifest stops naming the object,
    /// and only then is the object removed. No payload's bytes change; running it again does
    /// nothing.
    #[arg(long)]
    pub migrate: bool,

    /// Wait for another run holding the archive instead of exiting.
    #[arg(long)]
    pub wait_lock: bool,

    /// Report format.
    #[arg(long, value_enum, default_value_t = RepairFormat::Human)]
    pub format: RepairFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `repair --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepairFormat {
    Human,
    Json,
}

/// Flags of `linkkeep export`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["wacz", "files"])))]
pub struct ExportArgs {
    /// Write a WACZ 1.1.1 package to FILE.
    #[arg(long, value_name = "FILE")]
    pub wacz: Option<PathBuf>,

    /// Write every snapshot's payload as a plain file under DIR (`<id>/<timestamp>.<ext>`),
    /// with a `SHA256SUMS` file.
    #[arg(long, value_name = "DIR")]
    pub files: Option<PathBuf>,

    /// The package's title (default: the links.json source title, else "linkkeep archive").
    #[arg(long, requires = "wacz")]
    pub title: Option<String>,
}

/// Flags of `linkkeep extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Documents to read (`-` for standard input).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Resolve relative links in HTML against this URL (when the page has no `<base>`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Also list URLs of the text that name rather than cite: XML namespaces, schema and DTD
    /// locations (left out by default).
    #[arg(long)]
    pub all: bool,

    /// Merge the URLs into `--links` instead of printing them: new URLs are appended, existing
    /// entries keep their ids and fields.
    #[arg(long)]
    pub write: bool,

    /// With `--write`, remove entries whose URLs the documents no longer cite.
    #[arg(long, requires = "write")]
    pub prune: bool,
}

/// Flags of `linkkeep verify`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("sharded").args(["shard"]).requires("live")))]
pub struct VerifyArgs {
    /// Also re-fetch every link and compare it with its latest snapshot (nothing is written).
    #[arg(long)]
    pub live: bool,

    /// With `--live`, exit 1 when the text a reader sees changed since the latest snapshot;
    /// `--fail-on-change=bytes` also when only the bytes did (a cosmetic change).
    #[arg(long, value_enum, value_name = "RULE", num_args = 0..=1, require_equals = true,
          default_missing_value = "text", requires = "live")]
    pub fail_on_change: Option<ChangeRule>,

    #[command(flatten)]
    pub network: NetworkArgs,

    // Only with `--live` (the group above): offline, verify checks the whole archive.
    #[command(flatten)]
    pub shard: ShardArgs,

    #[command(flatten)]
    pub public_archive: PublicArchiveArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `linkkeep gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `linkkeep serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = crate::config::DEFAULT_SERVE_ADDR)]
    pub addr: String,
}

/// Flags of `linkkeep archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub network: NetworkArgs,

    #[command(flatten)]
    pub shard: ShardArgs,

    #[command(flatten)]
    pub public_archive: PublicArchiveArgs,

    #[command(flatten)]
    pub submit: SubmitArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Exit 1 when the text a reader sees changed since the latest snapshot;
    /// `--fail-on-change=bytes` also when only the bytes did (a cosmetic change).
    #[arg(long, value_enum, value_name = "RULE", num_args = 0..=1, require_equals = true,
          default_missing_value = "text")]
    pub fail_on_change: Option<ChangeRule>,

    /// Record a cosmetic capture (new bytes, same text) as a sighting of the latest snapshot
    /// instead of storing it.
    #[arg(long)]
    pub skip_cosmetic: bool,

    /// Compare captures by their bytes only: no main text is read, so every byte change is
    /// `changed` and snapshots get no text fields.
    #[arg(long, conflicts_with = "skip_cosmetic")]
    pub no_text: bool,

    /// Fetch nothing but the links: no page requisites (the stylesheets, images, fonts,
    /// scripts and frames an HTML capture needs to display).
    #[arg(long)]
    pub no_requisites: bool,

    /// Requisites fetched for one page at most; the rest are left out, and the run says so.
    #[arg(long, value_name = "N", default_value_t = crate::requisites::DEFAULT_MAX_REQUISITES)]
    pub max_requisites: usize,

    /// Bytes downloaded for one page's requisites at most, e.g. 50MB; a requisite larger than
    /// what is left fails as too large.
    #[arg(long, value_name = "BYTES", default_value = crate::requisites::DEFAULT_MAX_REQUISITE_BYTES)]
    pub max_requisite_bytes: String,

    /// Wait for another run holding the archive instead of exiting.
    #[arg(long)]
    pub wait_lock: bool,
}

/// Flags of `linkkeep status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `linkkeep get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The link's id, or its URL as written in links.json.
    #[arg(value_name = "ID or URL")]
    pub target: String,

    /// Write the bytes to FILE instead of standard output (FILE appears only whole and intact).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Pick the capture nearest to TIME (RFC 3339, a date, or a 14-digit timestamp).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Print the snapshot's manifest entry as JSON instead of its bytes.
    #[arg(long)]
    pub info: bool,
}

/// Flags of `linkkeep diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The link's id, or its URL (as written in links.json, or as finally served).
    #[arg(value_name = "ID or URL")]
    pub target: String,

    /// Compare from the capture nearest to TIME (RFC 3339, a date, or a 14-digit timestamp;
    /// default: the first capture, the cited version).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Compare with the capture nearest to TIME (as for `--from`; default: the latest capture),
    /// or with `live`: the page as the link serves it now, fetched once with the network flags
    /// (`--timeout`, `--retries`, `-H`, …) and not stored.
    #[arg(long, value_name = "TIME|live")]
    pub to: Option<String>,

    /// Also show passages that differ only in dates, times or numbers.
    #[arg(long)]
    pub all: bool,

    /// Output format: a unified diff (`human`), `json`, or `markdown` for an issue or a job
    /// summary.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,

    /// Write the difference to FILE instead of standard output (FILE appears whole or not at
    /// all).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub network: NetworkArgs,
}

/// `diff --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
    Markdown,
}

/// Flags of `linkkeep check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub network: NetworkArgs,

    #[command(flatten)]
    pub shard: ShardArgs,

    #[command(flatten)]
    pub public_archive: PublicArchiveArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags shared by every command that talks to the network.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Requests in flight overall.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,

    /// Requests in flight to one host (host and port).
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_PER_HOST)]
    pub per_host: usize,

    /// Seconds allowed for connecting and receiving the response headers, and the longest
    /// stall while reading a body.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_TIMEOUT.as_secs_f64())]
    pub timeout: f64,

    /// Seconds a whole download may take.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_MAX_TIME.as_secs_f64())]
    pub max_time: f64,

    /// Retries for timeouts, connection errors, 408, 429 and 5xx.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_RETRIES)]
    pub retries: u32,

    /// Seconds before the first retry; doubled for each further retry.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_RETRY_WAIT.as_secs_f64())]
    pub retry_wait: f64,

    /// The longest `Retry-After` honoured, in seconds; a longer one fails the link at once.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_MAX_RETRY_AFTER.as_secs_f64())]
    pub max_retry_after: f64,

    /// Redirects followed before giving up.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_MAX_REDIRECTS)]
    pub max_redirects: usize,

    /// Largest body accepted, e.g. 500MB or 1GiB.
    #[arg(long, value_name = "BYTES", default_value = "1GiB")]
    pub max_size: String,

    /// HTTP statuses counted as ok, e.g. `200..=299,403`.
    #[arg(long, value_name = "CODES", default_value = "200..=299")]
    pub accept: String,

    /// The User-Agent header sent.
    #[arg(long, value_name = "S")]
    pub user_agent: Option<String>,

    /// An extra request header, `'Name: value'` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "K: V")]
    pub headers: Vec<String>,

    /// Only check URLs matching this regex (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,

    /// Skip URLs matching this regex; they are reported as `excluded` (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub exclude: Vec<String>,

    /// Extra trusted root certificates (PEM).
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Vec<PathBuf>,

    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,

    /// Proxy for every request (default: HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Send no sibling probes: a page that answers like a random path beside it is not
    /// reported as `soft_404` (redirects of deep links to the site's root still are).
    #[arg(long)]
    pub no_soft_404: bool,

    /// Follow redirects into a more private address class than the link's own (public to
    /// private, loopback or link-local; private to loopback or link-local; loopback to
    /// link-local), which are refused as `redirect_error` by default.
    #[arg(long)]
    pub allow_private: bool,

    /// Resolve HOST to ADDRESS, as curl's `--resolve` (repeatable; `HOST:PORT:ADDRESS[,ADDRESS...]`,
    /// IPv6 in brackets). The addresses serve every port of HOST.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// `[[hosts]]` rules from the configuration files (there is no flag for them).
    #[arg(skip)]
    pub host_rules: crate::config::hosts::HostRules,
}

/// `--shard K/N`, of check, archive and `verify --live`: the network flags that choose links
/// rather than say how to fetch them (so `diff --to live`, which takes the network flags for
/// its one fetch, has no `--shard`).
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Only the links whose registrable domain (`unctad.org` for `www.unctad.org`) hashes to
    /// shard K of N, K from 0 to N-1 (`--shard $JOB_COMPLETION_INDEX/4`). Every site lives on
    /// one shard, so N runs on N machines keep `--per-host`; the other links are neither
    /// fetched nor reported.
    // Hyphen values allowed: `--shard -1/4` (an index computed wrong) is a bad shard, not an
    // unknown flag `-1`.
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<crate::shard::Shard>,
}

/// Flags of check, archive and `verify --live` that look links up in a public web archive.
#[derive(Debug, Args)]
pub struct PublicArchiveArgs {
    /// Look each link that failed up in a public web archive and report the copy it holds
    /// (`public_copy`): the latest capture answered with 200 at or before the link's cited
    /// capture, else the latest. An archive that cannot be reached is a warning, never a
    /// failed run.
    #[arg(long, value_enum, value_name = "ARCHIVE")]
    pub public_archive: Option<PublicArchiveChoice>,

    /// With `--public-archive`, look every link up, not only the failed ones.
    #[arg(long, requires = "public_archive")]
    pub public_archive_all: bool,

    /// With `--public-archive`, the archive's address (its CDX API is `<URL>/cdx/search/cdx`).
    #[arg(long, value_name = "URL", requires = "public_archive",
          default_value = crate::public_archive::WAYBACK_ENDPOINT)]
    pub public_archive_endpoint: String,
}

/// Flags of `linkkeep archive` that submit captures to a public web archive.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Ask a public web archive to capture every link whose capture is `new` or `changed`
    /// (the Wayback Machine's Save Page Now 2, with the keys in WAYBACK_ACCESS_KEY and
    /// WAYBACK_SECRET_KEY) and record its copy, or its refusal, in the snapshot's
    /// `public_copies`. Jobs still pending when the run ends are polled by the next run.
    #[arg(long, value_enum, value_name = "ARCHIVE")]
    pub submit: Option<PublicArchiveChoice>,

    /// With `--submit`, the archive's address (Save Page Now is `<URL>/save`).
    #[arg(long, value_name = "URL", requires = "submit",
          default_value = crate::public_archive::WAYBACK_ENDPOINT)]
    pub submit_endpoint: String,

    /// With `--submit`, capture jobs running at the archive at once.
    #[arg(long, value_name = "N", requires = "submit", default_value_t = crate::config::DEFAULT_SUBMIT_JOBS)]
    pub submit_jobs: usize,

    /// With `--submit`, the most links submitted in one run; the rest wait for the next run.
    #[arg(long, value_name = "N", requires = "submit", default_value_t = crate::config::DEFAULT_SUBMIT_MAX)]
    pub submit_max: usize,

    /// With `--submit`, seconds the run waits for its jobs to finish before it leaves them to
    /// the next run.
    #[arg(long, value_name = "SECS", requires = "submit",
          default_value_t = crate::config::DEFAULT_SUBMIT_WAIT.as_secs_f64())]
    pub submit_wait: f64,
}

/// `--public-archive` and `--submit` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublicArchiveChoice {
    /// The Internet Archive's Wayback Machine.
    Wayback,
}

/// Flags choosing how a report is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatChoice::Human)]
    pub format: FormatChoice,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatChoice {
    Human,
    Json,
    Markdown,
    Junit,
}

/// `--fail-on-change` values: what counts as a change that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangeRule {
    /// The text a reader sees changed (`changed`).
    Text,
    /// The bytes changed (`changed` or `cosmetic`).
    Bytes,
}

impl ChangeRule {
    /// Whether a run with `summary` fails under this rule.
    pub fn fails(self, summary: &crate::report::Summary) -> bool {
        match self {
            Self::Text => summary.changed > 0,
            Self::Bytes => summary.changed + summary.cosmetic > 0,
        }
    }
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Flags of `linkkeep cite`.
#[derive(Debug, Args)]
pub struct CiteArgs {
    /// Links to cite, by id or URL (default: every link).
    #[arg(value_name = "ID or URL", conflicts_with = "robustify")]
    pub targets: Vec<String>,

    /// Citation format.
    #[arg(long, value_enum, default_value_t = CiteFormat::Markdown, conflicts_with = "robustify")]
    pub format: CiteFormat,

    /// Cite the capture nearest TIME (RFC 3339, YYYY-MM-DD or a 14-digit timestamp) instead of
    /// the first.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Where `linkkeep serve` answers for this archive (e.g. `https://archive.example.org`):
    /// each citation then names this archive's copy, `<URL>/web/<timestamp>/<cited URL>`.
    #[arg(long, value_name = "URL")]
    pub replay_base: Option<String>,

    /// Rewrite the links of an HTML or Markdown document (by extension: .html, .htm, .xhtml,
    /// .md, .markdown; else sniffed) into robust links for every URL the archive holds a copy
    /// of, leaving every other byte as it was. Printed to standard output unless `-o` or
    /// `--in-place`.
    #[arg(long, value_name = "FILE")]
    pub robustify: Option<PathBuf>,

    /// With `--robustify`, replace the document itself (atomically).
    #[arg(long, requires = "robustify", conflicts_with = "output")]
    pub in_place: bool,

    /// Write to FILE instead of standard output (FILE appears only whole).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `cite --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiteFormat {
    /// Robust Links: `<a href data-originalurl data-versiondate data-versionurl>` in a list.
    Html,
    /// A numbered reference list.
    Markdown,
    /// Wikipedia `{{cite web}}` templates.
    Wikitext,
    /// BibLaTeX `@online` entries.
    Biblatex,
    /// CSL-JSON, as Zotero and pandoc import.
    CslJson,
    /// Plain text.
    Text,
}
