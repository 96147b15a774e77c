//! `linkkeep export --wacz` checked with `wacz validate` and unpacked with the `zip` crate:
//! every entry is listed in datapackage.json with its real sha256 and size. Guards issue #5.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::support::archive::{run_raw, sha256_hex};
use crate::support::pytools::{IDS, Interop, run_tool, tools_or_skip};

/// Exports the archive of `interop` to `dir/archive.wacz` and returns its path.
async fn export(interop: &Interop, dir: &Path) -> std::path::PathBuf {
    let wacz = dir.join("archive.wacz");
    let mut cmd = interop.scratch.cmd();
    cmd.arg("export").arg("--wacz").arg(&wacz);
    let run = run_raw(cmd).await;
    assert_eq!(run.code, 0, "export failed:\n{}", run.stderr);
    assert!(wacz.is_file(), "no WACZ at {}", wacz.display());
    wacz
}

/// The bytes of entry `name` of the zip, and whether it is stored uncompressed.
fn entry(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> (Vec<u8>, bool) {
    let mut file = zip
        .by_name(name)
        .unwrap_or_else(|e| panic!("no {name} in the WACZ: {e}"));
    let stored = file.compression() == zip::CompressionMethod::Stored;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    (bytes, stored)
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_wacz_passes_wacz_validate() {
    let Some([wacz]) = tools_or_skip(["wacz"]) else {
        return;
    };
    let interop = Interop::build().await;
    let out = tempfile::tempdir().unwrap();
    let file = export(&interop, out.path()).await;
    let run = run_tool(
        &wacz,
        &[OsStr::new("validate"), OsStr::new("-f"), file.as_os_str()],
        out.path(),
    )
    .await;
    let output = run.output();
    assert_eq!(run.code, 0, "wacz validate -f:\n{output}");
    assert!(output.contains("Validation succeeded"), "wacz validate -f:\n{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn datapackage_lists_every_entry_with_its_sha256_and_size() {
    let interop = Interop::build().await;
    let out = tempfile::tempdir().unwrap();
    let file = export(&interop, out.path()).await;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();

    let (package, _) = entry(&mut zip, "datapackage.json");
    let (digest, _) = entry(&mut zip, "datapackage-digest.json");
    let digest: Value = serde_json::from_slice(&digest).unwrap();
    assert_eq!(digest["path"], "datapackage.json");
    assert_eq!(digest["hash"], format!("sha256:{}", sha256_hex(&package)));
    let package: Value = serde_json::from_slice(&package).unwrap();
    assert_eq!(package["profile"], "data-package");
    assert_eq!(package["wacz_version"], "1.1.1");

    let resources = package["resources"].as_array().expect("resources");
    let mut listed = BTreeSet::new();
    for resource in resources {
        let path = resource["path"].as_str().unwrap();
        let (bytes, stored) = entry(&mut zip, path);
        assert_eq!(resource["hash"], format!("sha256:{}", sha256_hex(&bytes)), "{path}");
        assert_eq!(resource["bytes"], bytes.len(), "{path}");
        // Replay tools seek to WARC offsets inside the zip: entries must not be deflated.
        assert!(stored, "{path} is compressed");
        listed.insert(path.to_owned());
    }

    // Every WARC file, byte for byte, the index, and the pages.
    let mut expected: BTreeSet<String> = ["indexes/index.cdx", "pages/pages.jsonl"].map(str::to_owned).into();
    for warc in interop.warcs() {
        let name = format!("archive/{}", warc.file_name().unwrap().to_str().unwrap());
        assert_eq!(entry(&mut zip, &name).0, std::fs::read(&warc).unwrap(), "{name}");
        expected.insert(name);
    }
    assert_eq!(listed, expected, "datapackage.json resources");
    let every: BTreeSet<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let mut with_package = expected.clone();
    with_package.extend(["datapackage.json".to_owned(), "datapackage-digest.json".to_owned()]);
    assert_eq!(every, with_package, "nothing unlisted in the zip");
    assert_eq!(
        entry(&mut zip, "indexes/index.cdx").0,
        std::fs::read(interop.scratch.archive.join("index.cdxj")).unwrap()
    );

    // A page per link, at the URL it was captured from.
    let (pages, _) = entry(&mut zip, "pages/pages.jsonl");
    let pages = String::from_utf8(pages).unwrap();
    let mut lines = pages.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], "json-pages-1.0");
    let urls: BTreeSet<String> = lines
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let wanted: BTreeSet<String> = IDS.iter().map(|id| interop.url(id)).collect();
    assert_eq!(urls, wanted, "{pages}");
}
