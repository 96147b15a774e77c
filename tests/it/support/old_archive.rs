//! The archive linkkeep 0.1.0 wrote (`tests/fixtures/archive-0.1.0`, made as its README says),
//! copied into a scratch directory for a test to open, damage and migrate; and the ways to read
//! a snapshot's payload back that do not go through linkkeep: its object file, and its WARC
//! record decoded here. Guards issue #13.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::archive::{Scratch, json_run, sha256_hex};
use super::pytools::{copy_tree, read_member};
use super::repair::tree_bytes;

/// The fixture, as committed.
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/archive-0.1.0");

/// Its links: a page served gzip-compressed, a PDF-like binary (304 on its second fetch), a
/// text sent chunked that changed (two snapshots), and a capture whose snapshot names no WARC
/// record.
pub const GZIPPED: &str = "gzipped-page";
pub const PDF: &str = "report-pdf";
pub const CHUNKED: &str = "chunked-notes";
pub const EARLY: &str = "early";
pub const IDS: [&str; 4] = [GZIPPED, PDF, CHUNKED, EARLY];

/// How many snapshots the fixture has, and how many distinct payloads (objects).
pub const SNAPSHOTS: usize = 5;

/// A snapshot as the manifest has it, with its link and place.
#[derive(Debug, Clone)]
pub struct Snap {
    pub id: String,
    pub index: usize,
    pub json: Value,
}

impl Snap {
    pub fn sha256(&self) -> &str {
        self.json["sha256"].as_str().unwrap()
    }

    pub fn first_seen(&self) -> &str {
        self.json["first_seen"].as_str().unwrap()
    }

    /// `<id>[<index>]`, for messages.
    pub fn name(&self) -> String {
        format!("{}[{}]", self.id, self.index)
    }
}

/// A copy of the fixture in a temporary directory.
pub struct OldArchive {
    pub scratch: Scratch,
}

impl OldArchive {
    /// Copies the fixture, and makes its objects read-only as 0.1.0 wrote them (git keeps no
    /// such mode).
    pub fn copy() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        copy_tree(&Path::new(FIXTURE).join("archive"), &archive);
        let links = dir.path().join("links.json");
        std::fs::copy(Path::new(FIXTURE).join("links.json"), &links).unwrap();
        let old = OldArchive {
            scratch: Scratch {
                dir,
                links,
                archive,
                env: Vec::new(),
            },
        };
        for object in old.object_files() {
            let mut mode = std::fs::metadata(&object).unwrap().permissions();
            mode.set_readonly(true);
            std::fs::set_permissions(&object, mode).unwrap();
        }
        old
    }

    pub fn archive(&self) -> &Path {
        &self.scratch.archive
    }

    /// Every snapshot of the manifest, link by link.
    pub fn snapshots(&self) -> Vec<Snap> {
        let manifest = self.scratch.manifest();
        let mut all = Vec::new();
        for (id, entry) in manifest["links"].as_object().unwrap() {
            for (index, json) in entry["snapshots"].as_array().unwrap().iter().enumerate() {
                all.push(Snap {
                    id: id.clone(),
                    index,
                    json: json.clone(),
                });
            }
        }
        all
    }

    /// `linkkeep get <id> --at <first_seen>`: the snapshot's bytes, as a user gets them.
    pub async fn get(&self, snap: &Snap) -> Vec<u8> {
        let run = self.scratch.run(&["get", &snap.id, "--at", snap.first_seen()]).await;
        assert_eq!(run.code, 0, "get {}: {}", snap.name(), run.stderr);
        run.stdout
    }

    /// `repair --format json` with `args`: exit code, report, stderr.
    pub async fn repair(&self, args: &[&str]) -> (i32, Value, String) {
        let mut cmd = self.scratch.cmd();
        cmd.args(["repair", "--format", "json"]).args(args);
        json_run(cmd).await
    }

    /// `verify --format json`: exit code and report, after checking every link's outcome is
    /// the same as the exit code says.
    pub async fn verify(&self) -> (i32, Value) {
        let mut cmd = self.scratch.cmd();
        cmd.args(["verify", "--format", "json"]);
        let (code, report, stderr) = json_run(cmd).await;
        assert!(code == 0 || code == 1, "verify could not run: {stderr}");
        (code, report)
    }

    /// Every file under `objects/`, sorted.
    pub fn object_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = tree_bytes(self.archive())
            .into_keys()
            .filter(|p| p.starts_with("objects"))
            .map(|p| self.archive().join(p))
            .collect();
        files.sort();
        files
    }

    /// The object file of a payload, as 0.1.0 named it.
    pub fn object_path(&self, sha256: &str) -> PathBuf {
        self.archive()
            .join(format!("objects/sha256/{}/{}", &sha256[..2], &sha256[2..]))
    }

    /// The payload of the record a snapshot names (flat `warc`, `offset`, `length`), read and
    /// decoded here rather than by linkkeep: a resource record's block, or a response's body
    /// with its `Content-Encoding` removed.
    pub fn record_payload(&self, snap: &Snap) -> Vec<u8> {
        let s = &snap.json;
        let file = self
            .archive()
            .join(s["warc"].as_str().unwrap_or_else(|| panic!("{}: no warc", snap.name())));
        let record = read_member(&file, s["offset"].as_u64().unwrap(), s["length"].as_u64().unwrap());
        assert_eq!(
            record.field("WARC-Record-ID"),
            s["record_id"].as_str(),
            "{}",
            snap.name()
        );
        assert_eq!(record.field("WARC-Date"), s["record_date"].as_str(), "{}", snap.name());
        match record.kind() {
            "resource" => record.block.clone(),
            "response" => {
                let (_, body) = record.http();
                match record.http_header("content-encoding").as_deref() {
                    None => body.to_vec(),
                    Some("gzip") => {
                        let mut decoded = Vec::new();
                        flate2::read::MultiGzDecoder::new(body)
                            .read_to_end(&mut decoded)
                            .unwrap();
                        decoded
                    }
                    Some(other) => panic!("{}: a body in {other}", snap.name()),
                }
            }
            other => panic!("{}: a {other} record holds no payload", snap.name()),
        }
    }

    /// Every file of the archive (path → bytes) but `.lock`, whose holder line a writing
    /// command rewrites even when it changes nothing else.
    pub fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut tree = tree_bytes(self.archive());
        tree.remove(Path::new(".lock"));
        tree
    }

    /// The WARC files, by name.
    pub fn warc_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.archive().join("warc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Each snapshot's bytes through `get`, checked against its hash and size: what every
    /// later read must give back.
    pub async fn payloads(&self) -> BTreeMap<String, Vec<u8>> {
        let mut payloads = BTreeMap::new();
        for snap in self.snapshots() {
            let bytes = self.get(&snap).await;
            assert_eq!(sha256_hex(&bytes), snap.sha256(), "{}", snap.name());
            assert_eq!(snap.json["size"], bytes.len() as u64, "{}", snap.name());
            payloads.insert(snap.name(), bytes);
        }
        payloads
    }
}
