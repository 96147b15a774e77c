//! Micro-benchmarks of the object store (issue #7): SHA-256 alone, a whole object write
//! (`Store::create` -> `PayloadSink::write` -> `ObjectWriter::finish`, with whatever
//! durability work `finish` does) and `store::hash_file`. `cargo bench --bench store`.
//!
//! Each object written gets distinct bytes (a counter in its first chunk), so that the
//! content-addressed store really writes and renames it instead of finding a duplicate.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use divan::Bencher;
use divan::counter::BytesCount;
use linkkeep::store::{HashSink, PayloadSink, Store, hash_file};

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
            sink.write(chunk).unwrap();
        }
        sink.finish()
    });
}

/// A whole object: temporary file, hash, buffered writes, `finish` (rename into place).
#[divan::bench(args = SIZES, sample_count = 30)]
fn object_write(bencher: Bencher, size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bytes = Bytes::from(payload(size));
    let counter = AtomicU64::new(0);
    let mut written = 0usize;
    bencher
        .counter(BytesCount::new(size))
        .with_inputs(|| {
            // Keep the disk footprint bounded; removal happens outside the timed part.
            written += 1;
            if written.is_multiple_of(32) {
                let _ = std::fs::remove_dir_all(dir.path().join(linkkeep::store::OBJECTS_DIR));
            }
            counter.fetch_add(1, Ordering::Relaxed).to_le_bytes()
        })
        .bench_local_values(|unique: [u8; 8]| {
            let mut writer = store.create().unwrap();
            let mut chunks = chunks(&bytes);
            let mut first = chunks.next().unwrap().to_vec();
            first[..8].copy_from_slice(&unique);
            writer.write(Bytes::from(first)).unwrap();
            for chunk in chunks {
                writer.write(chunk).unwrap();
            }
            runtime.block_on(writer.finish()).unwrap()
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
