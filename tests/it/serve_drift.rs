//! The replay index says per link whether the latest capture still says what was cited (issue
//! #14): from the latest snapshot's `similarity_to_first`, on an archive built by real runs.

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::serve::{get, index_row, router};

/// Gives snapshot `index` of link `id` text fields, with `similarity_to_first` when given, as
/// `archive` records them.
fn set_text(scratch: &Scratch, id: &str, index: usize, similarity_to_first: Option<f64>) {
    let mut manifest = scratch.manifest();
    let snapshot = &mut manifest["links"][id]["snapshots"][index];
    snapshot["text_sha256"] = Value::from(format!("{index}").repeat(64));
    snapshot["text_simhash"] = Value::from("0123456789abcdef");
    snapshot["text_words"] = Value::from(40);
    snapshot["cosmetic"] = Value::from(false);
    if let Some(similarity) = similarity_to_first {
        snapshot["similarity"] = Value::from(similarity);
        snapshot["similarity_to_first"] = Value::from(similarity);
    }
    std::fs::write(
        scratch.archive.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_tells_how_much_of_the_cited_text_the_latest_capture_keeps() {
    let server = MockServer::start().await;
    let scratch = Scratch::new(&[
        ("edited", format!("{}/edited.html", server.uri())),
        ("steady", format!("{}/steady.html", server.uri())),
        ("same", format!("{}/same.html", server.uri())),
    ]);
    for version in ["first", "second"] {
        server.reset().await;
        for (at, body) in [
            ("/edited.html", format!("<title>Edited</title><p>{version} version</p>")),
            ("/steady.html", format!("<title>Steady</title><p>{version} layout</p>")),
            ("/same.html", "<title>Same</title><p>never changes</p>".to_owned()),
        ] {
            Mock::given(path(at))
                .respond_with(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html"))
                .mount(&server)
                .await;
        }
        let run = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    set_text(&scratch, "edited", 0, None);
    set_text(&scratch, "edited", 1, Some(0.62));
    set_text(&scratch, "steady", 0, None);
    set_text(&scratch, "steady", 1, Some(1.0));

    let html = get(&router(&scratch), "/", &[]).await.text();
    let row = |id: &str| index_row(&html, id);
    assert!(html.contains("<th>Text as cited</th>"), "{html}");
    assert!(
        row("edited").contains("text changed since cited: 62% the same"),
        "{}",
        row("edited")
    );
    assert!(
        row("steady").contains("still says what was cited (100%)"),
        "{}",
        row("steady")
    );
    assert!(row("same").contains("only the cited capture"), "{}", row("same"));
    // The captures column is still just the count.
    assert!(row("edited").contains("<td>2</td>"), "{}", row("edited"));
}
