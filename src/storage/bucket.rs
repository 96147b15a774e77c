//! An archive's objects in an S3-compatible bucket, through the `object_store` crate: keys are
//! the archive's relative paths under the URL's prefix (`s3://bucket/prefix/manifest.json`).
//!
//! Endpoint, region and credentials come from the standard AWS environment (`AWS_ENDPOINT_URL`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, web
//! identity and container credentials), and from the shared files' profile (`AWS_PROFILE`,
//! [`super::profile`]) for what the environment leaves out. They are handed to the client and
//! never written anywhere.
//!
//! Every request runs on the bucket's own small runtime ([`Bucket::block`], [`Bucket::run`]), so
//! that the archive's synchronous readers (a WARC record read deep in `serve` or `verify`) can
//! wait for one from any thread, and the run's own runtime never stalls on the bucket.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as Key;
use object_store::{
    GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion, WriteMultipart,
};
use tokio::io::AsyncReadExt;

/// Uploads up to this size go in one PUT; larger ones as a multipart upload of parts this
/// size (S3's minimum part, but the last, is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: what an upload holds in memory is about
/// `(PARTS_IN_FLIGHT + 1) × PART_SIZE`, whatever the file's size.
const PARTS_IN_FLIGHT: usize = 2;

/// Why the bucket could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("{url} is not an archive in object storage: {why} (expected s3://BUCKET or s3://BUCKET/PREFIX)")]
    BadUrl { url: String, why: String },
    #[error("cannot set up the object store for {url}")]
    Setup {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{op} {url} failed")]
    Request {
        op: &'static str,
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("cannot {op} {}", path.display())]
    Local {
        op: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The version of an object as read: what a conditional write names.
pub type Version = UpdateVersion;

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its path relative to the archive (`warc/R.warc.gz`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When the store last wrote it (the store's clock).
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// An object as read.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its bytes.
    pub bytes: Bytes,
    /// Its version, for a conditional write.
    pub version: Version,
    /// When the store last wrote it (the store's clock).
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// What a conditional write found.
#[derive(Debug)]
pub enum Written {
    /// Written; the new version.
    Done(Version),
    /// Someone else wrote (or created) the object since it was read: nothing was written.
    Conflict,
}

/// An archive in a bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// The archive's prefix inside the bucket, without a trailing `/` (may be empty).
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    url: String,
    runtime: tokio::runtime::Handle,
}

/// The version of an object as listed or read, for a conditional write or read.
fn version_of(meta: &object_store::ObjectMeta) -> Version {
    Version {
        e_tag: meta.e_tag.clone(),
        version: meta.version.clone(),
    }
}

/// `s3://bucket/prefix` split into the bucket and the prefix (no leading or trailing `/`).
pub fn parse_url(url: &str) -> Result<(String, String), BucketError> {
    let bad = |why: &str| BucketError::BadUrl {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("only s3:// is supported"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if !bucket_ok {
        return Err(bad("a bucket name is 3 to 63 lower-case letters, digits, '-' and '.'"));
    }
    let prefix = prefix.trim_matches('/');
    if prefix
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
        && !prefix.is_empty()
    {
        return Err(bad("the prefix has an empty, '.' or '..' part"));
    }
    if prefix.chars().any(char::is_control) {
        return Err(bad("the prefix has control characters"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

impl Bucket {
    /// Connects to the archive at `url` (`s3://bucket/prefix`), configured from the AWS
    /// environment and profile; requests run on `runtime`.
    pub fn connect(url: &str, runtime: tokio::runtime::Handle) -> Result<Self, BucketError> {
        let (bucket, prefix) = parse_url(url)?;
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            // The manifest, the index and the lease are only ever replaced with `If-Match` on
            // the version read, and created with `If-None-Match: *`.
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        for (key, value) in super::profile::settings() {
            builder = builder.with_config(key, value);
        }
        let store = builder.build().map_err(|source| BucketError::Setup {
            url: url.to_owned(),
            source,
        })?;
        let url = match prefix.as_str() {
            "" => format!("s3://{bucket}"),
            prefix => format!("s3://{bucket}/{prefix}"),
        };
        Ok(Self {
            store: Arc::new(store),
            prefix,
            url,
            runtime,
        })
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the object `name` (relative to the archive), for messages.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    fn key(&self, name: &str) -> Key {
        match self.prefix.as_str() {
            "" => Key::from(name),
            prefix => Key::from(format!("{prefix}/{name}")),
        }
    }

    fn error(&self, op: &'static str, name: &str) -> impl FnOnce(object_store::Error) -> BucketError {
        let url = self.url_of(name);
        move |source| BucketError::Request { op, url, source }
    }

    /// Runs `future` on the bucket's runtime and waits for it from async code.
    pub async fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        self.runtime
            .spawn(future)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Starts `future` on the bucket's runtime without waiting for it.
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        drop(self.runtime.spawn(future));
    }

    /// Runs `future` on the bucket's runtime and waits for it, blocking this thread: for the
    /// synchronous readers and writers. Never call it on an async task's thread for long.
    pub fn block<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().expect("the bucket's runtime runs for the whole process")
    }

    /// Reads a whole (small) object: its bytes and version, or `None` when there is none.
    pub async fn get(&self, name: &str) -> Result<Option<(Bytes, Version)>, BucketError> {
        Ok(self.get_object(name).await?.map(|o| (o.bytes, o.version)))
    }

    /// Reads a whole (small) object with its version and modification time.
    pub async fn get_object(&self, name: &str) -> Result<Option<Object>, BucketError> {
        let key = self.key(name);
        let result = match self.store.get_opts(&key, GetOptions::default()).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("GET", name)(e)),
        };
        let version = version_of(&result.meta);
        let modified = result.meta.last_modified;
        let bytes = result.bytes().await.map_err(self.error("GET", name))?;
        Ok(Some(Object {
            bytes,
            version,
            modified,
        }))
    }

    /// Writes `bytes` as `name` only if the object is still at version `expected` (or, with
    /// `None`, does not exist yet).
    pub async fn put_if(&self, name: &str, bytes: Bytes, expected: Option<&Version>) -> Result<Written, BucketError> {
        let mode = match expected {
            Some(version) => PutMode::Update(version.clone()),
            None => PutMode::Create,
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.key(name), PutPayload::from(bytes), options)
            .await
        {
            Ok(done) => Ok(Written::Done(done.into())),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Ok(Written::Conflict)
            }
            // Some stores answer a conditional write on a missing object with 404.
            Err(object_store::Error::NotFound { .. }) if expected.is_some() => Ok(Written::Conflict),
            Err(e) => Err(self.error("PUT", name)(e)),
        }
    }

    /// Writes `bytes` as `name`, replacing whatever is there.
    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<(), BucketError> {
        self.store
            .put(&self.key(name), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(self.error("PUT", name))
    }

    /// Uploads the local file `path` as `name`, streamed: one PUT when small, else a multipart
    /// upload of `PART_SIZE` parts with at most `PARTS_IN_FLIGHT` in flight, so memory stays
    /// flat whatever the size. A failed upload is aborted: no object appears, and the parts
    /// already sent are freed.
    pub async fn upload_file(&self, name: &str, path: &Path) -> Result<u64, BucketError> {
        let local = |source| BucketError::Local {
            op: "read",
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(local)?;
        let size = file.metadata().await.map_err(local)?.len();
        if size <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).await.map_err(local)?;
            self.put(name, Bytes::from(bytes)).await?;
            return Ok(size);
        }
        let upload = self
            .store
            .put_multipart(&self.key(name))
            .await
            .map_err(self.error("start the upload of", name))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; 1024 * 1024];
        let sent: Result<(), BucketError> = async {
            loop {
                let n = file.read(&mut buffer).await.map_err(local)?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(self.error("upload a part of", name))?;
                writer.write(&buffer[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .map_err(self.error("finish the upload of", name))?;
                Ok(size)
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Downloads `name` into the local file `path`, streamed (through a temporary file beside
    /// it, so a cut download never looks whole). Returns the version downloaded, or `None` when
    /// there is no such object.
    pub async fn download_file(&self, name: &str, path: &Path) -> Result<Option<Version>, BucketError> {
        let result = match self.store.get_opts(&self.key(name), GetOptions::default()).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("GET", name)(e)),
        };
        let version = version_of(&result.meta);
        let local = |op, source| BucketError::Local {
            op,
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| local("create", e))?;
        }
        let tmp = path.with_extension(format!("download-{:08x}", fastrand::u32(..)));
        let written: Result<(), BucketError> = async {
            let mut out = tokio::fs::File::create(&tmp).await.map_err(|e| local("write", e))?;
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(self.error("GET", name))?;
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                    .await
                    .map_err(|e| local("write", e))?;
            }
            tokio::fs::rename(&tmp, path).await.map_err(|e| local("write", e))
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        written.map(|()| Some(version))
    }

    /// Every object under `dir` (relative to the archive; `""` for all), sorted by name.
    pub async fn list(&self, dir: &str) -> Result<Vec<Listed>, BucketError> {
        let base = match self.prefix.as_str() {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        let under = self.key(dir.trim_end_matches('/'));
        let under = (!under.as_ref().is_empty()).then_some(under);
        let mut listed = Vec::new();
        let mut stream = self.store.list(under.as_ref());
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(self.error("LIST", dir))?;
            let Some(name) = meta.location.as_ref().strip_prefix(&base) else {
                continue;
            };
            listed.push(Listed {
                name: name.to_owned(),
                size: meta.size,
                modified: meta.last_modified,
            });
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// The objects at the archive's top level only (the leases), in one request however many
    /// objects lie below.
    pub async fn list_top(&self) -> Result<Vec<Listed>, BucketError> {
        let base = match self.prefix.as_str() {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        let under = self.key("");
        let under = (!under.as_ref().is_empty()).then_some(under);
        let result = self
            .store
            .list_with_delimiter(under.as_ref())
            .await
            .map_err(self.error("LIST", ""))?;
        let mut listed: Vec<Listed> = result
            .objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.as_ref().strip_prefix(&base)?.to_owned();
                Some(Listed {
                    name,
                    size: meta.size,
                    modified: meta.last_modified,
                })
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// Reads a whole (small) object unless it is still at version `known`: `Ok(None)` when it
    /// is (nothing is downloaded), `Ok(Some(None))` when there is no object.
    pub async fn get_if_changed(
        &self,
        name: &str,
        known: &Version,
    ) -> Result<Option<Option<(Bytes, Version)>>, BucketError> {
        let options = GetOptions {
            if_none_match: known.e_tag.clone(),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&self.key(name), options).await {
            Ok(result) => result,
            Err(object_store::Error::NotModified { .. }) => return Ok(None),
            Err(object_store::Error::NotFound { .. }) => return Ok(Some(None)),
            Err(e) => return Err(self.error("GET", name)(e)),
        };
        let version = version_of(&result.meta);
        let bytes = result.bytes().await.map_err(self.error("GET", name))?;
        Ok(Some(Some((bytes, version))))
    }

    /// Removes `name`; a missing object is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), BucketError> {
        match self.store.delete(&self.key(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("DELETE", name)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_clean_prefix() {
        assert_eq!(parse_url("s3://cites").unwrap(), ("cites".into(), String::new()));
        assert_eq!(parse_url("s3://cites/").unwrap(), ("cites".into(), String::new()));
        assert_eq!(
            parse_url("s3://my-cites.2026/law/review/").unwrap(),
            ("my-cites.2026".into(), "law/review".into())
        );
        for bad in [
            "gs://cites/x",
            "s3://",
            "s3://ab",
            "s3://Upper/x",
            "s3://cites/a//b",
            "s3://cites/a/../b",
            "s3://cites/a/\u{1b}[31m",
            "/tmp/archive",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
