//! pywb replays our WARC files: a PDF and HTML pages come back byte for byte, a gzip-encoded
//! page decoded or as sent depending on `Accept-Encoding`, a capture that is a 304's revisit
//! as its original's payload (issue #20), and the index pywb builds from our files equals our
//! own CDXJ. Guards issue #5.

use std::collections::BTreeSet;
use std::ffi::OsStr;

use crate::support::pytools::{ETAG, GZIPPED, Interop, PDF, STEADY, Wayback, run_tool, tools_or_skip, ts14};

#[tokio::test(flavor = "multi_thread")]
async fn pywb_replays_our_captures_byte_for_byte() {
    let Some([wb_manager, wayback]) = tools_or_skip(["wb-manager", "wayback"]) else {
        return;
    };
    let interop = Interop::build().await;
    let dir = tempfile::tempdir().unwrap();
    let init = run_tool(&wb_manager, &[OsStr::new("init"), OsStr::new("coll")], dir.path()).await;
    assert_eq!(init.code, 0, "wb-manager init coll:\n{}", init.output());
    let warcs = interop.warcs();
    let mut args = vec![OsStr::new("add"), OsStr::new("coll")];
    args.extend(warcs.iter().map(|w| w.as_os_str()));
    let add = run_tool(&wb_manager, &args, dir.path()).await;
    assert_eq!(add.code, 0, "wb-manager add:\n{}", add.output());

    // pywb's own indexer, run over our files, finds exactly the captures our index lists.
    let theirs = std::fs::read_to_string(dir.path().join("collections/coll/indexes/index.cdxj")).unwrap();
    let ours = std::fs::read_to_string(interop.scratch.archive.join("index.cdxj")).unwrap();
    let theirs: BTreeSet<&str> = theirs.lines().collect();
    let ours: BTreeSet<&str> = ours.lines().collect();
    assert_eq!(theirs, ours, "pywb's index of our WARC files vs archive/index.cdxj");

    let server = Wayback::start(&wayback, dir.path()).await;

    // Each link is replayed at its first capture's time. These links served the same bytes in
    // both runs, so whichever capture pywb picks at that second (run 1's response or run 2's
    // revisit, resolved to it) the body must be the one served.
    for (id, body, content_type) in [
        (PDF, &interop.pdf, "application/pdf"),
        (STEADY, &interop.steady, "text/html"),
    ] {
        let snapshot = &interop.snapshots(id)[0];
        let ts = ts14(snapshot["record_date"].as_str().unwrap());
        let url = interop.url(id);
        let response = server.replay(&ts, &url, "identity").await;
        assert_eq!(response.status(), 200, "{id}: {}", server.log());
        let got_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(got_type.as_deref(), Some(content_type), "{id}");
        let bytes = response.bytes().await.unwrap();
        assert!(
            bytes.as_ref() == body.as_slice(),
            "{id}: pywb replayed {} bytes, not the {} served",
            bytes.len(),
            body.len()
        );
    }

    // The gzip-encoded page. pywb 2.10 decodes the stored gzip body for a client that does not
    // accept gzip (moving the original header to X-Archive-Orig-content-encoding), and passes
    // the stored bytes through unchanged, with Content-Encoding: gzip, for one that does.
    let snapshot = &interop.snapshots(GZIPPED)[0];
    let (ts_gz, url_gz) = (ts14(snapshot["record_date"].as_str().unwrap()), interop.url(GZIPPED));
    let identity = server.replay(&ts_gz, &url_gz, "identity").await;
    assert_eq!(identity.status(), 200, "{}", server.log());
    assert!(
        identity.headers().get("content-encoding").is_none(),
        "{:?}",
        identity.headers()
    );
    let original = identity
        .headers()
        .get("x-archive-orig-content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(original.as_deref(), Some("gzip"));
    let decoded = identity.bytes().await.unwrap();
    assert!(
        decoded.as_ref() == interop.gz_plain.as_slice(),
        "gzip page, identity: {:?}",
        String::from_utf8_lossy(&decoded)
    );

    // The second run's capture of the ETag link is a server-not-modified revisit. pywb serves
    // the original's payload under the revisit's own HTTP head, and sends no body at all when
    // that head's status is 304 (issue #20): the revisit's head is the original's, brought up
    // to date.
    let url = interop.url(ETAG);
    let index = std::fs::read_to_string(interop.scratch.archive.join("index.cdxj")).unwrap();
    let revisit = index
        .lines()
        .find(|line| line.contains(&format!("\"url\": \"{url}\"")) && line.contains("warc/revisit"))
        .unwrap_or_else(|| panic!("no revisit line for {url}:\n{index}"));
    let ts = revisit.split(' ').nth(1).unwrap();
    let replayed = server.replay(ts, &url, "identity").await;
    assert_eq!(replayed.status(), 200, "{}", server.log());
    let got_type = replayed
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(got_type.as_deref(), Some("text/plain"));
    let bytes = replayed.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), interop.etag_body.as_slice(), "the 304's capture");

    let gzip = server.replay(&ts_gz, &url_gz, "gzip").await;
    assert_eq!(gzip.status(), 200, "{}", server.log());
    let encoding = gzip
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let wire = gzip.bytes().await.unwrap();
    assert!(
        wire.as_ref() == interop.gz_wire.as_slice(),
        "gzip page, gzip: {} bytes, not the {} sent",
        wire.len(),
        interop.gz_wire.len()
    );
}
