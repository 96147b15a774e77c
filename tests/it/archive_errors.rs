//! Runs that cannot do their job exit 2 and touch nothing: a corrupt or unreadable manifest, an
//! archive path that cannot be written (under a regular file, or a file itself), an invalid
//! links.json. Guards issues #3 and #15.

use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::write_file;

/// A server answering 200 to anything, to tell whether a run fetched before failing.
async fn any_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("x"))
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_manifest_exits_2_and_is_left_untouched() {
    let server = any_server().await;
    let scratch = Scratch::new(&[("p", format!("{}/p", server.uri()))]);
    std::fs::create_dir_all(&scratch.archive).unwrap();
    let corrupt = b"{\"schema_version\": 1,\n \"links\": {\"p\": {\"url\": ";
    let manifest = scratch.archive.join("manifest.json");
    std::fs::write(&manifest, corrupt).unwrap();

    let run = scratch.run(&["archive", "--retries", "0"]).await;

    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        corrupt,
        "the manifest's bytes changed"
    );
    assert_eq!(
        requests(&server).await,
        0,
        "nothing is fetched for an archive that cannot be recorded"
    );
    assert!(!scratch.archive.join("objects").exists());
}

/// A manifest in the one-link-per-line layout whose fourth line, the entry of a link the run
/// does not archive, is `other_entry`.
fn manifest_with_other_entry(p_url: &str, other_entry: &str) -> String {
    format!(
        "{{\"schema_version\":1,\"updated_at\":null,\n\"links\": {{\n\"p\": {{\"url\":\"{p_url}\",\"snapshots\":[]}},\n\"other\": {other_entry}\n}}}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_entry_of_a_link_outside_the_run_stops_it() {
    let server = any_server().await;
    let url = format!("{}/p", server.uri());
    let scratch = Scratch::new(&[("p", url.clone())]);
    std::fs::create_dir_all(&scratch.archive).unwrap();
    let manifest = scratch.archive.join("manifest.json");
    // Entries of links outside the run are not read, but they must be JSON objects.
    for (broken, message) in [
        (r#"{"url": "http://o.example/", "snapshots": [}"#, "line 4, column 53"),
        ("5", "line 4, column 10"),
    ] {
        let text = manifest_with_other_entry(&url, broken);
        std::fs::write(&manifest, &text).unwrap();

        let run = scratch.run(&["archive", "--retries", "0"]).await;

        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("manifest.json is not a valid manifest ({message})")),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), text);
        assert_eq!(requests(&server).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_manifest_exits_2() {
    let server = any_server().await;
    let scratch = Scratch::new(&[("p", format!("{}/p", server.uri()))]);
    std::fs::create_dir_all(scratch.archive.join("manifest.json")).unwrap();

    let run = scratch.run(&["archive", "--retries", "0"]).await;

    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
    assert!(scratch.archive.join("manifest.json").is_dir());
    assert_eq!(requests(&server).await, 0);
}

/// An archive path linkkeep cannot write, whoever runs it (permission bits do not stop root):
/// one under a regular file, and one that is itself a regular file. Each is exit 2 with a
/// message naming it, nothing fetched, and the file left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn unwritable_archive_path_exits_2_with_a_clear_message() {
    let server = any_server().await;
    let scratch = Scratch::new(&[("p", format!("{}/p", server.uri()))]);
    let file = write_file(scratch.dir.path(), "a-file", "not a directory");
    for archive in [file.join("archive"), file.clone()] {
        let mut cmd = crate::support::linkkeep();
        cmd.current_dir(scratch.dir.path())
            .arg("--links")
            .arg(&scratch.links)
            .arg("--archive")
            .arg(&archive)
            .args(["--no-progress", "archive", "--retries", "0"]);
        let run = crate::support::archive::run_raw(cmd).await;

        assert_eq!(run.code, 2, "{}: {}", archive.display(), run.stderr);
        assert!(
            run.stderr
                .contains(&format!("cannot create the archive directory {}", archive.display())),
            "the message names the directory: {}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
        assert_eq!(requests(&server).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_links_json_exits_2_and_creates_no_archive() {
    let server = any_server().await;
    let scratch = Scratch::new(&[]);
    write_file(
        scratch.dir.path(),
        "links.json",
        "{\"version\": 1, \"links\": [\n  {\"url\": ",
    );

    let run = scratch.run(&["archive", "--retries", "0"]).await;

    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("links.json"), "{}", run.stderr);
    assert!(!scratch.archive.exists(), "an archive directory was created");
    assert_eq!(requests(&server).await, 0);
}
