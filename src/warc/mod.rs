//! WARC 1.1 files and their CDXJ index: what each run fetched, in the web-archiving
//! community's own formats, so that warcio, pywb and ReplayWeb.page can read our archive.
//!
//! - [`record`]: writing records, one gzip member each, bodies streamed from a reader.
//! - [`reader`]: our own validator ([`check_warc`]), used by `linkkeep verify`.
//! - [`cdxj`]: pywb-compatible SURT keys and CDXJ index lines.
//! - [`index`]: WARC files read back into their CDXJ lines (and the heads behind them), for
//!   `linkkeep repair`.
//! - [`digest`]: labelled `sha256:` digests in the base32 form warcio writes and checks.
//! - [`run`]: the WARC files of one archive run, and the raw bodies on their way into them.
//! - [`stream`]: a response record written while its body arrives, into a file of its own.
//!
//! Everything here but [`run::RawBody`] is synchronous `std::io`: callers run it on the blocking
//! pool. Nothing holds a whole record in memory, except a small body (up to
//! [`run::LARGE_BODY`]) on its way to the run's shared file.

pub mod cdxj;
pub mod digest;
pub mod index;
pub mod reader;
pub mod record;
pub mod run;
pub mod stream;

pub use cdxj::{CdxjEntry, cdxj_line, media_type, merge_cdxj, sorted_cdxj, surt, write_cdxj};
pub use digest::sha256_label;
pub use reader::{RecordInfo, WarcCheck, check_warc, check_warc_bytes};
pub use record::{
    RecordSpec, RecordType, http_request_head, http_response_head, new_record_id, timestamp14, warc_date,
    warcinfo_fields, write_record,
};

/// The version line every record starts with.
pub const WARC_VERSION: &str = "WARC/1.1";

/// `Content-Type` of a response record's block.
pub const CONTENT_TYPE_HTTP_RESPONSE: &str = "application/http; msgtype=response";
/// `Content-Type` of a request record's block.
pub const CONTENT_TYPE_HTTP_REQUEST: &str = "application/http; msgtype=request";
/// `Content-Type` of a warcinfo record's block.
pub const CONTENT_TYPE_WARC_FIELDS: &str = "application/warc-fields";

/// WARC 1.1 revisit profile: the payload is byte-identical to an earlier capture's, as shown by
/// equal `WARC-Payload-Digest`s.
pub const PROFILE_IDENTICAL_PAYLOAD_DIGEST: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
/// WARC 1.1 revisit profile: the server answered a conditional request with 304 Not Modified.
pub const PROFILE_SERVER_NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

/// What can go wrong writing a record.
#[derive(Debug, thiserror::Error)]
pub enum WarcError {
    /// Reading the body or writing the file failed.
    #[error("i/o error writing a WARC record")]
    Io(#[from] std::io::Error),
    /// The body did not hold the announced number of bytes.
    #[error(
        "body length mismatch: expected {expected} bytes, got {}{actual}",
        if *more { "at least " } else { "" }
    )]
    BodyLength {
        /// The length the caller announced.
        expected: u64,
        /// What the body actually yielded (a lower bound when `more`).
        actual: u64,
        /// The body went on past the announced length.
        more: bool,
    },
    /// The bytes written do not hash to the block digest given (or computed in a first pass).
    #[error("block digest mismatch: header says {expected}, block hashes to {actual}")]
    BlockDigestMismatch {
        /// The digest that went into the header.
        expected: String,
        /// The digest of the bytes actually written.
        actual: String,
    },
    /// A header field name or value would break the header (CR, LF, colon in a name, empty name).
    #[error("invalid WARC header field {name:?}")]
    InvalidField {
        /// The field's name.
        name: String,
    },
}
