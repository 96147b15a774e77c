//! Micro-benchmarks of writing payloads (issues #7, #13): SHA-256 alone, a whole response
//! record written in one pass into a file of its own (`StreamedResponse`: payload SHA-256,
//! CRC-32, stored blocks, the header rewritten at the end), and `store::hash_file`.
//! `cargo bench --bench store`.

use bytes::Bytes;
use divan::Bencher;
use divan::counter::BytesCount;
use linkkeep::store::{HashSink, PayloadSink, hash_file};
use linkkeep::warc::stream::StreamedResponse;
use linkkeep::warc::{CONTENT_TYPE_HTTP_REQUEST, CONTENT_TYPE_HTTP_RESPONSE, RecordSpec, RecordType};
use sha2::{Digest, Sha256};

fn main() {
    divan::main();
}

/// A small page, a typical PDF-sized object, a large download.
const SIZES: [usize; 3] = [4 * 1024, 256 * 1024, 16 * 1024 * 1024];
/// What `fetch::download` hands the sink at a time.
const CHUNK: usize = 64 * 1024;

fn payload(size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut bytes = vec![0u8; size];
    rng.fill(&mut bytes);
    bytes
}

/// `bytes` in download-sized chunks, sharing its buffer as `fetch::download`'s chunks do.
fn chunks(bytes: &Bytes) -> impl Iterator<Item = Bytes> + '_ {
    (0..bytes.len())
        .step_by(CHUNK)
        .map(|start| bytes.slice(start..bytes.len().min(start + CHUNK)))
}

/// SHA-256 of a payload fed in download-sized chunks, nothing written.
#[divan::bench(args = SIZES)]
fn sha256_only(bencher: Bencher, size: usize) {
    let bytes = Bytes::from(payload(size));
    bencher.counter(BytesCount::new(size)).bench_local(|| {
        let mut sink = HashSink::default();
        for chunk in chunks(&bytes) {
            sink.write(&chunk).unwrap();
        }
        sink.finish()
    });
}

/// A whole response record in a file of its own, as a large download writes it: the block
/// digest is the caller's (computed on the downloading task), not part of this.
#[divan::bench(args = SIZES, sample_count = 30)]
fn streamed_record_write(bencher: Bencher, size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = Bytes::from(payload(size));
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n";
    bencher.counter(BytesCount::new(size)).bench_local(|| {
        let file = std::fs::File::create(dir.path().join("r.warc.gz")).unwrap();
        let spec = RecordSpec::new(
            RecordType::Response,
            "2026-01-01T00:00:00Z".into(),
            CONTENT_TYPE_HTTP_RESPONSE,
        );
        let request = RecordSpec::new(RecordType::Request, spec.date.clone(), CONTENT_TYPE_HTTP_REQUEST);
        let mut record = StreamedResponse::create(file, spec, head, false).unwrap();
        record.hash_payload(Sha256::new());
        for chunk in chunks(&bytes) {
            record.write_body(&chunk).unwrap();
        }
        record.finish([0; 32], None, (request, Vec::new())).unwrap()
    });
}

/// `hash_file` on a file in the page cache (what `verify` does per object).
#[divan::bench(args = SIZES)]
fn hash_file_cached(bencher: Bencher, size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload");
    std::fs::write(&path, payload(size)).unwrap();
    bencher
        .counter(BytesCount::new(size))
        .bench_local(|| hash_file(&path).unwrap());
}
