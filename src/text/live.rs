//! A live body read for its text without being stored (`verify --live`, `diff --to live`):
//! hashed, its first bytes kept, and (for HTML and PDF within the text limits) the whole of it
//! kept as a [`Sample`].

use std::io;

use super::Sample;
use crate::store::{HashSink, PayloadSink};

/// How many first bytes are kept, to tell HTML and PDF from the rest (as [`Sample`] does).
const HEAD_LEN: usize = 512;

/// A live body as it streams by.
#[derive(Debug)]
pub struct LiveSink {
    hash: HashSink,
    sample: Sample,
    head: Vec<u8>,
}

impl LiveSink {
    /// A sink for a body served as `content_type`.
    pub fn new(content_type: Option<&str>) -> Self {
        Self {
            hash: HashSink::default(),
            sample: Sample::new(content_type),
            head: Vec::new(),
        }
    }

    /// The body's SHA-256 and size, its first bytes, and the payload its text is read from, if
    /// it may have one.
    pub fn finish(self) -> LiveBody {
        let (sha256, size) = self.hash.finish();
        LiveBody {
            sha256,
            size,
            text_payload: self.sample.into_payload(),
            head: self.head,
        }
    }
}

impl PayloadSink for LiveSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.write(bytes)?;
        self.sample.push(bytes);
        let room = HEAD_LEN.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
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
    /// Its first bytes (at most 512), to say what it is when it has no text.
    pub head: Vec<u8>,
}
