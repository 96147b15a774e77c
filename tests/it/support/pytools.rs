//! The web-archiving community's tools (warcio, wacz, pywb) for the interop tests, and the
//! archive they are fed: two `archive` runs against a local server, with every kind of record
//! (response, identical-payload-digest and server-not-modified revisits, a gzip-encoded body),
//! plus a reader for single WARC records. Guards issue #5.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::{Scratch, gzip, random_bytes};

/// The longest one tool invocation may take before the test fails instead of hanging.
const TOOL_LIMIT: Duration = Duration::from_secs(120);

/// Network flags for the archive runs: no retries, so any failure shows at once.
const NET: &[&str] = &["--retries", "0", "--timeout", "10"];

/// Where `name` is: on `PATH` first, then in the virtualenv `.ci/run` creates.
pub fn tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name));
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/pytools/bin")
        .join(name);
    on_path.chain(std::iter::once(venv)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// [`tool`] for every name, or `None` after [`skip_or_fail`](super::skip_or_fail) named what
/// is missing: a visible skip outside CI, a failure under CI (`.ci/run` installs the tools, so
/// a missing one is a broken install).
pub fn tools_or_skip<const N: usize>(names: [&str; N]) -> Option<[PathBuf; N]> {
    let found = names.map(tool);
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        super::skip_or_fail(&format!(
            "{} not installed (run .ci/run, or pip install -r .ci/python-tools.txt)",
            missing.join(", ")
        ));
        return None;
    }
    Some(found.map(Option::unwrap))
}

/// How long pywb may take to start answering.
const STARTUP: Duration = Duration::from_secs(60);

/// A running `wayback`, killed (and reaped) when dropped.
pub struct Wayback {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Wayback {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Wayback {
    /// Starts `wayback` in `dir` (which holds `collections/`) and waits until it answers.
    pub async fn start(wayback: &Path, dir: &Path) -> Self {
        // A free port: bind it, read it, let it go for wayback to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("wayback.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(wayback)
            .args(["-p", &port.to_string(), "--bind", "127.0.0.1"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Wayback { child, port, log };
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("wayback exited ({status}) before answering:\n{}", server.log());
            }
            let probe = client
                .get(format!("http://127.0.0.1:{port}/"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if probe.is_ok() {
                return server;
            }
            assert!(
                start.elapsed() < STARTUP,
                "wayback did not answer within {STARTUP:?}:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `/coll/<ts>id_/<url>` with `Accept-Encoding: <encoding>`: the original bytes, unrewritten.
    pub async fn replay(&self, ts: &str, url: &str, encoding: &str) -> reqwest::Response {
        self.replay_in("coll", ts, url, encoding).await
    }

    /// The captures of `url` that collection `collection`'s index lists, as CDXJ lines from
    /// pywb's CDX server API.
    pub async fn cdx(&self, collection: &str, url: &str) -> String {
        let query = url::Url::parse_with_params(
            &format!("http://127.0.0.1:{}/{collection}/cdx", self.port),
            [("url", url)],
        )
        .unwrap();
        let response = reqwest::Client::new()
            .get(query.clone())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {query}: {e}\n{}", self.log()));
        assert_eq!(response.status(), 200, "GET {query}: {}", self.log());
        response.text().await.unwrap()
    }

    /// [`Wayback::replay`] from collection `collection`.
    pub async fn replay_in(&self, collection: &str, ts: &str, url: &str, encoding: &str) -> reqwest::Response {
        // Our reqwest has no decompression features: the body arrives exactly as pywb sends it.
        let replay = format!("http://127.0.0.1:{}/{collection}/{ts}id_/{url}", self.port);
        reqwest::Client::new()
            .get(&replay)
            .header("accept-encoding", encoding)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {replay}: {e}\n{}", self.log()))
    }
}

/// A finished tool run.
#[derive(Debug)]
pub struct ToolRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ToolRun {
    /// stdout and stderr together, for searching and for failure messages.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `program args…` in `cwd` on the blocking pool (servers in this process keep serving),
/// killing it past [`TOOL_LIMIT`].
pub async fn run_tool(program: &Path, args: &[&std::ffi::OsStr], cwd: &Path) -> ToolRun {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{} {:?}", program.display(), args);
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        // Read both pipes while the tool runs, so a chatty tool cannot block on a full pipe.
        let out = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > TOOL_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not finish within {TOOL_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        ToolRun {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// `sha256:` + RFC 4648 base32 (upper case, padded) of `bytes`: a WARC digest as warcio writes it.
pub fn warc_sha256(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(bytes);
    let mut out = String::from("sha256:");
    for chunk in digest.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let used = [0, 2, 4, 5, 7, 8][chunk.len()];
        for i in 0..8 {
            out.push(if i < used {
                char::from(ALPHABET[((bits >> (35 - 5 * i)) & 0x1f) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// One WARC record read back from its gzip member.
#[derive(Debug, Clone)]
pub struct WarcRecord {
    /// Where its gzip member starts, and how long the member is.
    pub offset: u64,
    pub length: u64,
    /// Header fields in order, names as written.
    pub fields: Vec<(String, String)>,
    /// The block: exactly `Content-Length` bytes.
    pub block: Vec<u8>,
}

impl WarcRecord {
    /// The value of header field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `WARC-Type`.
    pub fn kind(&self) -> &str {
        self.field("WARC-Type").expect("every record has a WARC-Type")
    }

    /// An `application/http` block split into its head (with the blank line) and its payload.
    pub fn http(&self) -> (&[u8], &[u8]) {
        let end = self
            .block
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("the HTTP head ends with a blank line")
            + 4;
        (&self.block[..end], &self.block[end..])
    }

    /// The HTTP status of an `application/http` response or revisit block.
    pub fn http_status(&self) -> u16 {
        let (head, _) = self.http();
        let line = String::from_utf8_lossy(head);
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The HTTP header `name` of the block's head, if present (case-insensitive).
    pub fn http_header(&self, name: &str) -> Option<String> {
        let (head, _) = self.http();
        String::from_utf8_lossy(head)
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    }
}

/// Parses one decompressed record; panics unless it is a whole record and nothing more.
fn parse_record(data: &[u8], offset: u64, length: u64) -> WarcRecord {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("offset {offset}: no end of the WARC header"));
    let head = std::str::from_utf8(&data[..end]).unwrap();
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("WARC/1.1"), "offset {offset}: version line");
    let fields: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("offset {offset}: bad line {l:?}"));
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut record = WarcRecord {
        offset,
        length,
        fields,
        block: Vec::new(),
    };
    let len: usize = record.field("Content-Length").unwrap().parse().unwrap();
    let rest = &data[end + 4..];
    assert_eq!(
        rest.len(),
        len + 4,
        "offset {offset}: the member holds exactly one record (block + CRLF CRLF)"
    );
    assert_eq!(&rest[len..], b"\r\n\r\n", "offset {offset}: record trailer");
    record.block = rest[..len].to_vec();
    record
}

/// The record in the gzip member at `offset`..`offset + length` of `file`, decompressing only
/// that slice.
pub fn read_member(file: &Path, offset: u64, length: u64) -> WarcRecord {
    let bytes = std::fs::read(file).unwrap();
    let slice = bytes
        .get(offset as usize..(offset + length) as usize)
        .unwrap_or_else(|| panic!("{}: {offset}+{length} is past the end", file.display()));
    let mut decoder = flate2::bufread::GzDecoder::new(slice);
    let mut data = Vec::new();
    decoder
        .read_to_end(&mut data)
        .unwrap_or_else(|e| panic!("{}: member at {offset}: {e}", file.display()));
    assert!(
        decoder.into_inner().is_empty(),
        "{}: {offset}+{length} is more than one gzip member",
        file.display()
    );
    parse_record(&data, offset, length)
}

/// Every record of `file`, member by member, with each member's offset and length.
pub fn read_all(file: &Path) -> Vec<WarcRecord> {
    let bytes = std::fs::read(file).unwrap();
    let mut records = Vec::new();
    let mut rest: &[u8] = &bytes;
    while !rest.is_empty() {
        let offset = (bytes.len() - rest.len()) as u64;
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut data = Vec::new();
        decoder
            .read_to_end(&mut data)
            .unwrap_or_else(|e| panic!("{}: member at {offset}: {e}", file.display()));
        let after = decoder.into_inner();
        let length = (rest.len() - after.len()) as u64;
        records.push(parse_record(&data, offset, length));
        rest = after;
    }
    records
}

/// `2026-11-29T02:00:00Z` (or with fractions) as the 14-digit timestamp CDXJ and pywb use.
pub fn ts14(date: &str) -> String {
    let digits: String = date.chars().filter(char::is_ascii_digit).take(14).collect();
    assert_eq!(digits.len(), 14, "{date}");
    digits
}

/// Copies the directory tree `from` to `to` (for damaging a copy of an archive).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The links of [`Interop`]: ids.
pub const PAGE: &str = "page";
pub const PDF: &str = "report-pdf";
pub const GZIPPED: &str = "gzipped";
pub const ETAG: &str = "etag";
pub const STEADY: &str = "steady";
pub const IDS: [&str; 5] = [PAGE, PDF, GZIPPED, ETAG, STEADY];

/// An archive built by two `archive` runs against a wiremock server on 127.0.0.1.
///
/// Run 1 captures an HTML page, a binary PDF, an HTML page sent with `Content-Encoding: gzip`,
/// a text with an `ETag`, and an HTML page without validators. Run 2: the page changed (a new
/// response record), the ETag answers 304 to `If-None-Match` (a server-not-modified revisit), and
/// the others return identical bytes (identical-payload-digest revisits).
pub struct Interop {
    pub server: MockServer,
    pub scratch: Scratch,
    /// The page's bodies in run 1 and run 2.
    pub page_v1: Vec<u8>,
    pub page_v2: Vec<u8>,
    pub pdf: Vec<u8>,
    /// The gzip page decoded, and as sent on the wire.
    pub gz_plain: Vec<u8>,
    pub gz_wire: Vec<u8>,
    pub etag_body: Vec<u8>,
    pub steady: Vec<u8>,
    /// The run ids of run 1 and run 2.
    pub runs: [String; 2],
}

fn respond(body: &[u8], content_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_vec(), content_type)
}

impl Interop {
    /// Serves the links, runs `archive` twice, and checks each run reported what it should.
    pub async fn build() -> Self {
        let page_v1 =
            b"<!doctype html><html><head><title>WGEC</title></head><body><p>Version one</p></body></html>\n".to_vec();
        let page_v2 =
            b"<!doctype html><html><head><title>WGEC</title></head><body><p>Version two, revised</p></body></html>\n"
                .to_vec();
        let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        pdf.extend(random_bytes(17, 40_000));
        pdf.extend_from_slice(b"\n%%EOF\n");
        let gz_plain: Vec<u8> = b"<!doctype html><html><head><title>Compressed</title></head><body>\n"
            .iter()
            .copied()
            .chain(b"<p>Enhanced cooperation on public policy issues.</p>\n".repeat(40))
            .chain(*b"</body></html>\n")
            .collect();
        let gz_wire = gzip(&gz_plain).await;
        let etag_body = b"a text with a validator\n".to_vec();
        let steady =
            b"<!doctype html><html><head><title>Steady</title></head><body>same every time</body></html>".to_vec();

        let server = MockServer::start().await;
        let links: Vec<(&str, String)> = [
            (PAGE, "/page.html"),
            (PDF, "/report.pdf"),
            (GZIPPED, "/gz.html"),
            (ETAG, "/etag.txt"),
            (STEADY, "/steady.html"),
        ]
        .into_iter()
        .map(|(id, at)| (id, format!("{}{at}", server.uri())))
        .collect();
        let scratch = Scratch::new(&links);
        let mut interop = Interop {
            server,
            scratch,
            page_v1,
            page_v2,
            pdf,
            gz_plain,
            gz_wire,
            etag_body,
            steady,
            runs: Default::default(),
        };

        interop.mount(1).await;
        let first = interop.scratch.archive(NET).await;
        assert_eq!(first.code, 0, "run 1: {:#}\n{}", first.report, first.stderr);
        for id in IDS {
            assert_eq!(first.result(id)["change"], "new", "run 1: {id}");
        }

        interop.server.reset().await;
        interop.mount(2).await;
        let second = interop.scratch.archive(NET).await;
        assert_eq!(second.code, 0, "run 2: {:#}\n{}", second.report, second.stderr);
        assert_eq!(second.result(PAGE)["change"], "changed", "run 2: page");
        for id in [PDF, GZIPPED, ETAG, STEADY] {
            assert_eq!(second.result(id)["change"], "unchanged", "run 2: {id}");
        }
        // The ETag link got its 304 (only a conditional request matches in run 2).
        assert_eq!(second.result(ETAG)["http_status"], 304, "run 2: etag");

        interop.runs = [
            first.report["run"].as_str().unwrap().to_owned(),
            second.report["run"].as_str().unwrap().to_owned(),
        ];
        interop
    }

    /// Mounts what the server answers in run `run` (1 or 2).
    async fn mount(&self, run: u8) {
        let server = &self.server;
        let page = if run == 1 { &self.page_v1 } else { &self.page_v2 };
        Mock::given(path("/page.html"))
            .respond_with(respond(page, "text/html; charset=utf-8"))
            .mount(server)
            .await;
        Mock::given(path("/report.pdf"))
            .respond_with(respond(&self.pdf, "application/pdf"))
            .mount(server)
            .await;
        Mock::given(path("/gz.html"))
            .respond_with(respond(&self.gz_wire, "text/html; charset=utf-8").insert_header("content-encoding", "gzip"))
            .mount(server)
            .await;
        Mock::given(path("/steady.html"))
            .respond_with(respond(&self.steady, "text/html"))
            .mount(server)
            .await;
        if run == 1 {
            Mock::given(path("/etag.txt"))
                .respond_with(respond(&self.etag_body, "text/plain").insert_header("etag", "\"v1\""))
                .mount(server)
                .await;
        } else {
            Mock::given(method("GET"))
                .and(path("/etag.txt"))
                .and(header("if-none-match", "\"v1\""))
                .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"v1\""))
                .mount(server)
                .await;
        }
    }

    /// The URL of link `id`.
    pub fn url(&self, id: &str) -> String {
        self.manifest()["links"][id]["url"].as_str().unwrap().to_owned()
    }

    /// The manifest, parsed.
    pub fn manifest(&self) -> Value {
        self.scratch.manifest()
    }

    /// The snapshots of link `id`.
    pub fn snapshots(&self, id: &str) -> Vec<Value> {
        self.scratch.snapshots(id)
    }

    /// The WARC file of run `n` (0 or 1).
    pub fn warc(&self, n: usize) -> PathBuf {
        self.scratch.archive.join(format!("warc/{}.warc.gz", self.runs[n]))
    }

    /// Both WARC files, and checks that no other is there.
    pub fn warcs(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.scratch.archive.join("warc"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        found.sort();
        let mut expected = vec![self.warc(0), self.warc(1)];
        expected.sort();
        assert_eq!(found, expected, "one WARC file per run");
        vec![self.warc(0), self.warc(1)]
    }

    /// The record a snapshot's `warc`, `offset` and `length` point at.
    pub fn snapshot_record(&self, snapshot: &Value) -> WarcRecord {
        let file = self
            .scratch
            .archive
            .join(snapshot["warc"].as_str().expect("snapshot has a warc"));
        let at = snapshot;
        read_member(&file, at["offset"].as_u64().unwrap(), at["length"].as_u64().unwrap())
    }
}
