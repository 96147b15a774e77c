//! An S3-compatible server on 127.0.0.1 for the tests of archives in object storage (issue #18):
//! moto's server mode (`moto_server`, pinned in `.ci/python-tools.txt`), a bucket on it, the
//! AWS environment that points the binary at that bucket, and the test side's own view of the
//! bucket (list, read, write, damage, delete) to check and corrupt what the binary stored.
//!
//! moto is run as `moto_server` runs it (its WSGI application under werkzeug's threaded
//! server) with one difference: requests are handled one at a time. moto checks `If-Match` and
//! `If-None-Match: *` and then writes, with no lock between the two (`put_object` in
//! `moto/s3/responses.py`), so two conditional writes arriving together could both pass their
//! check; S3 decides them atomically, and the lease and the manifest's compaction rely on that.
//! Handling one request at a time makes moto's check and write one step.
//!
//! The test side talks to moto through `object_store`, signed like any S3 client: moto refuses
//! unsigned reads and deletes of objects (403), and stores an unsigned PUT's form-encoded body
//! as empty. Only bucket creation, which `object_store` has no call for, goes as a plain
//! unsigned `PUT /<bucket>`, which moto accepts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};
use tempfile::NamedTempFile;

/// The access key id every bucket's credentials use (moto accepts any).
pub const ACCESS_KEY_ID: &str = "linkkeep-test-key-id";

/// The region every bucket is in (moto's default, where a bucket needs no location).
pub const REGION: &str = "us-east-1";

/// Where the AWS shared configuration files point, so that `~/.aws` of the machine running the
/// tests is never read (linkkeep reads a profile for what the environment leaves out).
const NO_AWS_FILES: &str = "/nonexistent/linkkeep-tests/aws";

/// How long moto may take to start answering (it takes about half a second).
const STARTUP: Duration = Duration::from_secs(30);

/// The longest one request of the test side may take before the test fails instead of hanging.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// Attempts at a free port: the port is found free, let go, then taken by moto, and another
/// process may take it in between.
const PORT_ATTEMPTS: usize = 3;

/// A running `moto_server` on 127.0.0.1, killed (and reaped) when dropped.
pub struct S3Server {
    child: Child,
    port: u16,
    /// The secret access key of every bucket on this server: random, so that a test can look
    /// for it in what the binary wrote.
    secret: String,
    log: NamedTempFile,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts moto (with the interpreter of `moto_server`, as [`SERIALIZED_MOTO`]) on a free
    /// port and waits until it answers; `None` after
    /// [`skip_or_fail`](super::skip_or_fail) when it is not installed (a failure under CI).
    /// Panics, with moto's output, when it does not start.
    pub fn start() -> Option<Self> {
        let [moto] = super::pytools::tools_or_skip(["moto_server"])?;
        let python = interpreter(&moto);
        for attempt in 1..=PORT_ATTEMPTS {
            // A free port: bind it, read it, let it go for moto to take.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = NamedTempFile::new().unwrap();
            let child = Command::new(&python)
                .args(["-c", SERIALIZED_MOTO, "127.0.0.1", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.reopen().unwrap())
                .stderr(log.reopen().unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start moto with {}: {e}", python.display()));
            let mut server = S3Server {
                child,
                port,
                secret: format!("linkkeep-test-secret-{:016x}", fastrand::u64(..)),
                log,
            };
            match server.wait_ready() {
                Ok(()) => return Some(server),
                Err(log) if log.contains("in use") && attempt < PORT_ATTEMPTS => continue,
                Err(log) => panic!("moto on port {port} did not start:\n{log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Polls until moto says it listens and answers `GET /` (ListBuckets) with 200, or returns
    /// its output when it exits or the startup time is over.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        // werkzeug prints this once it has bound the port: until then, whatever answers on the
        // port is some other process that took it first.
        let listening = format!("Running on http://127.0.0.1:{}", self.port);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("(exited: {status})\n{}", self.log()));
            }
            if self.log().contains(&listening)
                && raw_request(self.port, "GET", "/").is_ok_and(|(status, _)| status == 200)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("(no answer within {STARTUP:?})\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`: the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto printed so far (a line per request), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read(self.log.path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(cannot read moto's log: {e})"))
    }

    /// Creates the bucket `name` (3 to 63 lower-case letters, digits, `-` and `.`; new on this
    /// server) and returns it.
    pub fn bucket(&self, name: &str) -> Bucket {
        assert!(
            (3..=63).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
            "{name:?} is not a valid bucket name"
        );
        let (status, body) = raw_request(self.port, "PUT", &format!("/{name}"))
            .unwrap_or_else(|e| panic!("create bucket {name}: {e}\n{}", self.log()));
        assert_eq!(status, 200, "create bucket {name}: {body}");
        Bucket {
            name: name.to_owned(),
            endpoint: self.endpoint(),
            secret: self.secret.clone(),
        }
    }
}

/// moto's server (as `moto.server.main` builds it) handling one request at a time; arguments:
/// host, port.
const SERIALIZED_MOTO: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

# moto checks If-Match / If-None-Match and then writes, unlocked: one request at a time makes
# the two one step, as S3 makes them.
def one_at_a_time(environ, start_response):
    with lock:
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            if hasattr(result, "close"):
                result.close()

run_simple(host, port, one_at_a_time, threaded=True)
"#;

/// The Python interpreter that has moto: the one `moto_server`'s `#!` line names (a
/// virtualenv's own, or `#!/usr/bin/env python3`), else `python3` beside it (where the `#!` line
/// names no Python: pyenv's shims are shell scripts), else `python3` on `PATH`.
fn interpreter(moto: &Path) -> PathBuf {
    let script = std::fs::read(moto).unwrap_or_else(|e| panic!("read {}: {e}", moto.display()));
    let first = script.split(|&b| b == b'\n').next().unwrap_or_default();
    let shebang = String::from_utf8_lossy(first);
    let mut words = shebang.strip_prefix("#!").unwrap_or_default().split_whitespace();
    let named = match (words.next(), words.next()) {
        (Some(env), Some(name)) if env.ends_with("/env") => Some(PathBuf::from(name)),
        (Some(path), _) => Some(PathBuf::from(path)),
        (None, _) => None,
    };
    let is_python = |p: &PathBuf| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("python"));
    named
        .filter(is_python)
        .or_else(|| Some(moto.with_file_name("python3")).filter(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// One unsigned HTTP/1.1 request without a body to moto; its status and body.
fn raw_request(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(REQUEST_LIMIT))?;
    stream.set_write_timeout(Some(REQUEST_LIMIT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let bad = || std::io::Error::other(format!("not an HTTP response: {response:?}"));
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| response.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// A bucket on an [`S3Server`], with the credentials that open it; it works while the server
/// lives. Keys are whole object keys in the bucket (`prefix/manifest.json`), without a leading
/// `/`. The helpers block (each on a thread of its own) and panic on any error but a missing
/// object where they say so; they work from plain and `#[tokio::test]` tests alike.
#[derive(Debug, Clone)]
pub struct Bucket {
    name: String,
    endpoint: String,
    secret: String,
}

impl Bucket {
    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://127.0.0.1:PORT`: the S3 endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The secret access key (random per server): no object may contain it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// `s3://NAME/PREFIX`, or `s3://NAME` for an empty prefix: the `--archive` argument.
    pub fn url(&self, prefix: &str) -> String {
        match prefix.trim_matches('/') {
            "" => format!("s3://{}", self.name),
            prefix => format!("s3://{}/{prefix}", self.name),
        }
    }

    /// The variables that point the binary at this bucket: endpoint, credentials, region,
    /// plain HTTP allowed, and AWS shared files that do not exist (so no profile is read).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", format!("{NO_AWS_FILES}/credentials")),
            ("AWS_CONFIG_FILE", format!("{NO_AWS_FILES}/config")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The variables [`apply`](Self::apply) removes before setting [`env`](Self::env): every
    /// `AWS_*` variable of the machine running the tests (`AWS_PROFILE`, `AWS_SESSION_TOKEN`,
    /// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3`, `AWS_WEB_IDENTITY_TOKEN_FILE`, …, whether
    /// set here or not).
    pub fn cleared() -> Vec<String> {
        let always = [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT",
            "AWS_ENDPOINT_URL_S3",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "AWS_SKIP_SIGNATURE",
            "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
        ];
        let here = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("AWS_"));
        let mut names: Vec<String> = always.iter().map(|k| (*k).to_owned()).chain(here).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Points an `assert_cmd` command (as from [`super::linkkeep`]) at this bucket: removes
    /// [`cleared`](Self::cleared), then sets [`env`](Self::env).
    pub fn apply<'c>(&self, cmd: &'c mut assert_cmd::Command) -> &'c mut assert_cmd::Command {
        for name in Self::cleared() {
            cmd.env_remove(name);
        }
        cmd.envs(self.env())
    }

    /// [`apply`](Self::apply) for a plain process (as from [`super::linkkeep_process`]).
    pub fn apply_process<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        for name in Self::cleared() {
            cmd.env_remove(name);
        }
        cmd.envs(self.env())
    }

    /// Every object whose key is under `prefix` (by whole `/`-separated segments: `a` holds
    /// `a/x` but not `ab`; `""` is the whole bucket), as `(key, size)` sorted by key.
    pub fn list(&self, prefix: &str) -> Vec<(String, u64)> {
        let prefix = prefix.trim_matches('/').to_owned();
        let mut listed = self.block(format!("list {}", self.url(&prefix)), move |store| async move {
            let prefix = (!prefix.is_empty()).then(|| Key::from(prefix));
            store
                .list(prefix.as_ref())
                .map_ok(|meta| (meta.location.to_string(), meta.size))
                .try_collect::<Vec<_>>()
                .await
        });
        listed.sort();
        listed
    }

    /// The bytes of object `key`; panics when it is missing.
    pub fn get(&self, key: &str) -> Vec<u8> {
        self.try_get(key)
            .unwrap_or_else(|| panic!("{} does not exist", self.url(key)))
    }

    /// The bytes of object `key`, or `None` when there is no such object.
    pub fn try_get(&self, key: &str) -> Option<Vec<u8>> {
        let key = Key::from(key);
        self.block(format!("get {}", self.url(key.as_ref())), move |store| async move {
            match store.get(&key).await {
                Ok(got) => got.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// Writes `bytes` as object `key`, replacing any object there.
    pub fn put(&self, key: &str, bytes: impl Into<Vec<u8>>) {
        let key = Key::from(key);
        let bytes = bytes.into();
        self.block(format!("put {}", self.url(key.as_ref())), move |store| async move {
            store.put(&key, bytes.into()).await.map(drop)
        });
    }

    /// Inverts every bit of the byte at `at` of object `key` (a damaged object, as `verify`
    /// must catch); panics when the object is missing or shorter.
    pub fn flip_byte(&self, key: &str, at: usize) {
        let mut bytes = self.get(key);
        let len = bytes.len();
        let byte = bytes
            .get_mut(at)
            .unwrap_or_else(|| panic!("{}: {at} is past its {len} bytes", self.url(key)));
        *byte = !*byte;
        self.put(key, bytes);
    }

    /// Deletes object `key` (nothing happens when there is none, as in S3).
    pub fn delete(&self, key: &str) {
        let key = Key::from(key);
        self.block(format!("delete {}", self.url(key.as_ref())), move |store| async move {
            store.delete(&key).await
        });
    }

    /// Runs `request` on a store of its own, on a runtime of its own on a thread of its own:
    /// so these helpers work the same from a plain `#[test]` and inside any tokio runtime
    /// (where blocking on another runtime would panic), and no pooled connection outlives the
    /// runtime that opened it.
    fn block<T, F>(&self, what: String, request: impl FnOnce(Arc<dyn ObjectStore>) -> F + Send) -> T
    where
        T: Send,
        F: Future<Output = object_store::Result<T>>,
    {
        let store = s3_store(self);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        match tokio::time::timeout(REQUEST_LIMIT, request(store)).await {
                            Ok(Ok(value)) => value,
                            Ok(Err(e)) => panic!("{what}: {e}"),
                            Err(_) => panic!("{what}: no answer within {REQUEST_LIMIT:?}"),
                        }
                    })
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

/// An `object_store` client for `bucket`, configured as linkkeep configures its own from
/// [`Bucket::env`] (path-style requests to the endpoint, plain HTTP, the same credentials) and
/// with conditional puts on (`If-None-Match: *` for `PutMode::Create`, `If-Match` for
/// `PutMode::Update`). Use it from any tokio runtime; keys are whole keys in the bucket.
pub fn s3_store(bucket: &Bucket) -> Arc<dyn ObjectStore> {
    let store = AmazonS3Builder::new()
        .with_endpoint(&bucket.endpoint)
        .with_allow_http(true)
        .with_region(REGION)
        .with_bucket_name(&bucket.name)
        .with_access_key_id(ACCESS_KEY_ID)
        .with_secret_access_key(&bucket.secret)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        // A server that stopped answering fails the test in seconds, not after the default
        // three minutes of retries.
        .with_retry(RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
            ..RetryConfig::default()
        })
        .build()
        .unwrap_or_else(|e| panic!("object_store client for {}: {e}", bucket.url("")));
    Arc::new(store)
}
