//! The S3-compatible server the object-storage tests run against (issue #18): the fixture in
//! `support::s3` works, and the server gives the guarantees linkkeep's bucket backend relies
//! on: conditional creates (`If-None-Match: *`) and replacements (`If-Match`) that refuse with
//! 412, and multipart uploads that appear whole or not at all.

use object_store::aws::AmazonS3ConfigKey;
use object_store::path::Path as Key;
use object_store::{
    Error, MultipartUpload, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion, WriteMultipart,
};

use crate::support::archive::random_bytes;
use crate::support::s3::{ACCESS_KEY_ID, Bucket, REGION, S3Server, s3_store};

const MIB: usize = 1024 * 1024;

/// The server and a fresh bucket on it, or `None` when moto is not installed (a visible skip,
/// a failure under CI).
fn bucket() -> Option<(S3Server, Bucket)> {
    let server = S3Server::start()?;
    let bucket = server.bucket("linkkeep-test");
    Some((server, bucket))
}

fn create() -> PutOptions {
    PutMode::Create.into()
}

fn update(e_tag: Option<String>) -> PutOptions {
    PutMode::Update(UpdateVersion { e_tag, version: None }).into()
}

#[test]
fn s3_fixture_round_trip() {
    let Some((server, bucket)) = bucket() else { return };
    assert_eq!(bucket.url("arch"), "s3://linkkeep-test/arch");
    assert_eq!(bucket.url("/a/b/"), "s3://linkkeep-test/a/b");
    assert_eq!(bucket.url(""), "s3://linkkeep-test");
    assert_eq!(bucket.list(""), vec![], "a new bucket is empty");

    // Every byte value, so that any re-encoding on the way shows.
    let warc: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    bucket.put("arch/warc/r1.warc.gz", warc.clone());
    bucket.put("arch/manifest.json", b"{}".to_vec());
    bucket.put("archive-next/manifest.json", b"{}\n".to_vec());
    assert_eq!(
        bucket.list("arch"),
        vec![
            ("arch/manifest.json".to_owned(), 2),
            ("arch/warc/r1.warc.gz".to_owned(), 1000)
        ],
        "a prefix holds whole segments: arch/ but not archive-next/"
    );
    assert_eq!(bucket.list("").len(), 3);
    assert_eq!(bucket.get("arch/warc/r1.warc.gz"), warc);

    bucket.flip_byte("arch/warc/r1.warc.gz", 7);
    let damaged = bucket.get("arch/warc/r1.warc.gz");
    assert_eq!(damaged.len(), warc.len());
    let differing: Vec<usize> = (0..warc.len()).filter(|&i| damaged[i] != warc[i]).collect();
    assert_eq!(differing, vec![7]);
    assert_eq!(damaged[7], !warc[7]);

    bucket.put("arch/manifest.json", b"{\"links\":{}}".to_vec());
    assert_eq!(bucket.get("arch/manifest.json"), b"{\"links\":{}}", "put replaces");

    bucket.delete("arch/manifest.json");
    assert_eq!(bucket.try_get("arch/manifest.json"), None);
    assert_eq!(bucket.list("arch"), vec![("arch/warc/r1.warc.gz".to_owned(), 1000)]);
    bucket.delete("arch/manifest.json");

    let other = server.bucket("linkkeep-other");
    assert_eq!(other.list(""), vec![], "buckets are separate");
    assert_eq!(other.try_get("arch/warc/r1.warc.gz"), None);
}

/// The variables `Bucket::env` gives, read the way `object_store`'s `from_env` reads them
/// (which linkkeep's bucket backend starts from), open the bucket; and `apply` removes any AWS
/// setting of the machine running the tests.
#[tokio::test]
async fn s3_env_opens_the_bucket() {
    let Some((_server, bucket)) = bucket() else { return };
    let env = bucket.env();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(var("AWS_ENDPOINT_URL"), Some(bucket.endpoint()));
    assert_eq!(var("AWS_ACCESS_KEY_ID"), Some(ACCESS_KEY_ID));
    assert_eq!(var("AWS_SECRET_ACCESS_KEY"), Some(bucket.secret()));
    assert_eq!(var("AWS_REGION"), Some(REGION));
    assert_eq!(var("AWS_ALLOW_HTTP"), Some("true"));
    assert!(bucket.secret().starts_with("linkkeep-test-secret-"));

    let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket.name());
    for (name, value) in &env {
        if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    let store = builder.build().unwrap();
    store
        .put(&Key::from("arch/from-env"), PutPayload::from_static(b"written"))
        .await
        .unwrap();
    assert_eq!(bucket.get("arch/from-env"), b"written");

    let mut cmd = std::process::Command::new("env");
    bucket.apply_process(&mut cmd);
    let set: Vec<(String, Option<String>)> = cmd
        .get_envs()
        .map(|(k, v)| {
            let text = |s: &std::ffi::OsStr| s.to_str().unwrap().to_owned();
            (text(k), v.map(text))
        })
        .collect();
    for removed in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_S3",
    ] {
        assert!(set.contains(&(removed.to_owned(), None)), "{removed} removed: {set:?}");
    }
    for (name, value) in &env {
        assert!(
            set.contains(&(name.clone(), Some(value.clone()))),
            "{name} set: {set:?}"
        );
    }
    let mut cmd = assert_cmd::Command::new("env");
    bucket.apply(&mut cmd);
    let printed = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    let aws: Vec<&str> = printed.lines().filter(|l| l.starts_with("AWS_")).collect();
    assert_eq!(
        aws.len(),
        env.len(),
        "only the bucket's AWS variables reach the process: {aws:?}"
    );
}

/// The lease is created with `If-None-Match: *`: a second create of the same key fails with
/// 412 (`AlreadyExists`) and leaves the first object as it was.
#[tokio::test]
async fn s3_conditional_create_refuses_an_existing_key() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let lease = Key::from("arch/lock");
    store.put_opts(&lease, "first".into(), create()).await.unwrap();
    let err = store.put_opts(&lease, "second".into(), create()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert_eq!(bucket.get("arch/lock"), b"first");

    // Released (deleted), the key can be created again.
    bucket.delete("arch/lock");
    store.put_opts(&lease, "third".into(), create()).await.unwrap();
    assert_eq!(bucket.get("arch/lock"), b"third");
}

/// Two runs racing for the lease: of many creates of one key at once, exactly one succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_concurrent_creates_admit_exactly_one() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let racers: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let body = PutPayload::from(format!("racer {n}"));
                (n, store.put_opts(&Key::from("arch/lock"), body, create()).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            (n, Ok(_)) => winners.push(n),
            (_, Err(Error::AlreadyExists { .. })) => {}
            (n, Err(e)) => panic!("racer {n}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(bucket.get("arch/lock"), format!("racer {}", winners[0]).into_bytes());
}

/// Two compactions racing to replace the manifest: of many replacements at once naming the
/// same version, exactly one succeeds; the others get 412 (`Precondition`) and must re-read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_concurrent_updates_admit_exactly_one() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let read = store.put(&Key::from("arch/manifest.json"), "v1".into()).await.unwrap();
    let racers: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            let e_tag = read.e_tag.clone();
            tokio::spawn(async move {
                let body = PutPayload::from(format!("racer {n}"));
                (
                    n,
                    store
                        .put_opts(&Key::from("arch/manifest.json"), body, update(e_tag))
                        .await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            (n, Ok(_)) => winners.push(n),
            (_, Err(Error::Precondition { .. })) => {}
            (n, Err(e)) => panic!("racer {n}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(
        bucket.get("arch/manifest.json"),
        format!("racer {}", winners[0]).into_bytes()
    );
}

/// The manifest is replaced with `If-Match` on the version read: a stale e-tag fails with 412
/// (`Precondition`) and writes nothing; the current one succeeds.
#[tokio::test]
async fn s3_conditional_update_needs_the_current_etag() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let manifest = Key::from("arch/manifest.json");
    let first = store.put(&manifest, "v1".into()).await.unwrap();
    assert!(first.e_tag.is_some(), "moto returns an ETag");

    let second = store
        .put_opts(&manifest, "v2".into(), update(first.e_tag.clone()))
        .await
        .unwrap();
    assert_ne!(second.e_tag, first.e_tag);

    let err = store
        .put_opts(&manifest, "lost".into(), update(first.e_tag.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Precondition { .. }), "{err}");
    assert_eq!(
        bucket.get("arch/manifest.json"),
        b"v2",
        "a refused write writes nothing"
    );

    // The version as a reader sees it (GET), as linkkeep reads the manifest before replacing it.
    let read = store.get(&manifest).await.unwrap();
    assert_eq!(read.meta.e_tag, second.e_tag);
    store
        .put_opts(&manifest, "v3".into(), update(read.meta.e_tag))
        .await
        .unwrap();
    assert_eq!(bucket.get("arch/manifest.json"), b"v3");

    // A write behind the reader's back (here by the test side) makes its version stale.
    let read = store.get(&manifest).await.unwrap();
    bucket.put("arch/manifest.json", b"v4".to_vec());
    let err = store
        .put_opts(&manifest, "lost".into(), update(read.meta.e_tag))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Precondition { .. }), "{err}");
    assert_eq!(bucket.get("arch/manifest.json"), b"v4");

    // Replacing an object that is gone is refused too.
    let err = store
        .put_opts(&Key::from("arch/missing"), "x".into(), update(second.e_tag))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Precondition { .. }), "{err}");
    assert_eq!(bucket.try_get("arch/missing"), None);
}

/// A WARC file larger than two parts is uploaded as a multipart upload and lands whole.
#[tokio::test]
async fn s3_multipart_upload_lands_whole() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let key = Key::from("arch/warc/big.warc.gz");
    let body = random_bytes(18, 11 * MIB + 12_345);
    let upload = store.put_multipart(&key).await.unwrap();
    // S3's smallest part but the last is 5 MiB: three parts.
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 5 * MIB);
    for piece in body.chunks(64 * 1024) {
        writer.write(piece);
    }
    writer.finish().await.unwrap();

    assert_eq!(
        bucket.list("arch"),
        vec![("arch/warc/big.warc.gz".to_owned(), body.len() as u64)]
    );
    assert!(
        bucket.get("arch/warc/big.warc.gz") == body,
        "the bytes read back differ"
    );
    // A multipart object's ETag ends in the number of its parts.
    let e_tag = store.head(&key).await.unwrap().e_tag.unwrap();
    assert!(e_tag.ends_with("-3\""), "three parts: {e_tag}");
}

/// An upload aborted, or cut (parts sent, never completed: a crash), leaves no visible object.
#[tokio::test]
async fn s3_unfinished_multipart_upload_leaves_nothing() {
    let Some((_server, bucket)) = bucket() else { return };
    let store = s3_store(&bucket);
    let part = || PutPayload::from(random_bytes(19, 5 * MIB));

    let aborted = Key::from("arch/warc/aborted.warc.gz");
    let mut upload = store.put_multipart(&aborted).await.unwrap();
    upload.put_part(part()).await.unwrap();
    upload.put_part(part()).await.unwrap();
    upload.abort().await.unwrap();

    let cut = Key::from("arch/warc/cut.warc.gz");
    let mut upload = store.put_multipart(&cut).await.unwrap();
    upload.put_part(part()).await.unwrap();
    drop(upload);

    assert_eq!(bucket.list(""), vec![]);
    assert_eq!(bucket.try_get("arch/warc/aborted.warc.gz"), None);
    assert_eq!(bucket.try_get("arch/warc/cut.warc.gz"), None);
    let err = store.head(&cut).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}
