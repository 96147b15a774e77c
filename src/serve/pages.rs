//! The server's own HTML pages: the index of archived links, and the error pages. Plain HTML with
//! inline CSS and no JavaScript; every value from the manifest or the request is escaped.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::catalog::Catalog;
use super::target::capture_timestamp;
use crate::manifest::Snapshot;
use crate::report::percent;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid #ddd}\
th{background:#f4f4f4}td.url{font-size:.85em;color:#555;word-break:break-all}\
.url{word-break:break-all}.ok{color:#176f2c}.failed{color:#b00020}.drift{color:#a35200}a{color:#0645ad}";

pub use crate::markup::escape;

/// A complete page around `body` (already HTML).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// An `<a>` to an original URL, or just its text when it is not an http(s) URL: a `javascript:`
/// URL taken from a request must never become a link on this origin.
fn original_link(url: &str, text: &str) -> String {
    let web = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if web {
        format!("<a href=\"{}\" rel=\"noreferrer\">{}</a>", escape(url), escape(text))
    } else {
        escape(text)
    }
}

/// `/`: every archived link, in manifest order.
pub async fn index(State(shared): State<Shared>) -> Response {
    match shared.catalogs.current().await {
        Ok(catalog) => page(StatusCode::OK, "linkkeep archive", &index_body(&catalog)),
        Err(message) => error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}

fn index_body(catalog: &Catalog) -> String {
    let links = &catalog.manifest.links;
    let mut body = String::from("<h1>linkkeep archive</h1>\n");
    if links.is_empty() {
        body.push_str("<p>The archive is empty: no link has been archived yet.</p>");
        return body;
    }
    let captures: usize = links.values().map(|e| e.snapshots.len()).sum();
    let _ = writeln!(body, "<p>{} links, {captures} captures.</p>", links.len());
    body.push_str(
        "<table>\n<thead><tr><th>Title</th><th>Publisher</th><th>Last outcome</th><th>Last checked</th>\
         <th>Captures</th><th>Text as cited</th><th>Links</th></tr></thead>\n<tbody>\n",
    );
    for (id, entry) in links {
        let meta = catalog.meta(id);
        let latest = entry.snapshots.last();
        let title = latest
            .and_then(|s| s.title.clone())
            .or(meta.title)
            .unwrap_or_else(|| id.clone());
        let (outcome, checked) = match &entry.last_check {
            Some(check) => {
                let class = if check.outcome.is_failure() { "failed" } else { "ok" };
                (
                    format!("<span class=\"{class}\">{}</span>", check.outcome.as_str()),
                    escape(&check.at),
                )
            }
            None => ("never checked".to_owned(), String::new()),
        };
        let mut links_cell = String::new();
        if let Some(ts) = latest.and_then(capture_timestamp) {
            let _ = write!(
                links_cell,
                "<a href=\"/web/{ts}/{}\">latest capture</a> · ",
                escape(&entry.url)
            );
        }
        links_cell.push_str(&original_link(&entry.url, "original"));
        // Copies public archives made, for a reader whose original and this archive are both
        // gone; they open on the live web, outside the archive, as "original" does.
        for copy in entry.public_copies() {
            let when = copy.timestamp.as_deref().and_then(|t| t.get(..10)).unwrap_or_default();
            let text = format!("{} copy {when}", copy.archive);
            links_cell.push_str(" · ");
            links_cell.push_str(&original_link(copy.url.as_deref().unwrap_or_default(), text.trim_end()));
        }
        let _ = writeln!(
            body,
            "<tr id=\"{}\"><td>{}<br><span class=\"url\">{}</span></td><td>{}</td><td>{outcome}</td><td>{checked}</td>\
             <td>{}</td><td>{}</td><td>{links_cell}</td></tr>",
            escape(id),
            escape(&title),
            escape(&entry.url),
            escape(meta.publisher.as_deref().unwrap_or("")),
            entry.snapshots.len(),
            as_cited(&entry.snapshots),
        );
    }
    body.push_str("</tbody></table>");
    body
}

/// How the latest capture's text compares with the first's, the cited version (HTML).
fn as_cited(snapshots: &[Snapshot]) -> String {
    let Some((latest, later)) = snapshots.split_last() else {
        return String::new();
    };
    if later.is_empty() {
        return "only the cited capture".into();
    }
    let Some(similarity) = latest.text.as_ref().and_then(|t| t.similarity_to_first) else {
        return "<span title=\"no text to compare\">unknown</span>".into();
    };
    let shown = percent(similarity);
    // Every capture since the first differing only in dates, times and numbers is the cited
    // text too, whatever the percentage says.
    let cosmetic_since = snapshots[1..]
        .iter()
        .all(|s| s.text.as_ref().is_some_and(|t| t.cosmetic));
    if similarity >= 1.0 {
        format!("still says what was cited ({shown})")
    } else if cosmetic_since {
        format!("still says what was cited, but for dates and numbers ({shown})")
    } else {
        format!("<span class=\"drift\">text changed since cited: {shown} the same</span>")
    }
}

/// The 404 for an original URL the archive does not hold (or holds no capture of). Replayed
/// pages link here for every URL the archive lacks, so the URL is shown as text to copy, never
/// as a link: a click in the archive must not lead to the live web.
pub fn not_archived(url: &str, why: &str) -> Response {
    let body = format!(
        "<h1>Not in the archive</h1>\n<p>{}</p>\n<p>Original URL (not a link): <code class=\"url\">{}</code></p>\n\
         <p><a href=\"/\">All archived links</a></p>",
        escape(why),
        escape(url),
    );
    page(StatusCode::NOT_FOUND, "Not in the archive", &body)
}

/// The 404 for a path that is no route at all.
pub fn plain_not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "<h1>Not found</h1>\n<p><a href=\"/\">All archived links</a></p>",
    )
}

/// An error page with `message`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        title,
        &format!("<h1>{}</h1>\n<p>{}</p>", escape(title), escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(text: Option<(bool, Option<f64>)>) -> Snapshot {
        let mut snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "sha256": "a".repeat(64), "size": 1, "content_type": "text/html",
            "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z",
            "http_status": 200, "final_url": "http://example.org/", "etag": null,
            "last_modified": null, "title": null, "run": "r"}))
        .unwrap();
        snapshot.text = text.map(|(cosmetic, similarity_to_first)| crate::manifest::SnapshotText {
            cosmetic,
            similarity_to_first,
            ..crate::manifest::SnapshotText::new(&crate::text::Fingerprint::of("some text"))
        });
        snapshot
    }

    #[test]
    fn drift_from_the_cited_version_in_words() {
        let first = snapshot(Some((false, None)));
        assert_eq!(as_cited(&[]), "");
        assert_eq!(as_cited(std::slice::from_ref(&first)), "only the cited capture");
        assert_eq!(
            as_cited(&[first.clone(), snapshot(Some((false, Some(1.0))))]),
            "still says what was cited (100%)"
        );
        assert_eq!(
            as_cited(&[first.clone(), snapshot(Some((true, Some(0.98))))]),
            "still says what was cited, but for dates and numbers (98%)"
        );
        assert_eq!(
            as_cited(&[first.clone(), snapshot(Some((false, Some(0.62))))]),
            "<span class=\"drift\">text changed since cited: 62% the same</span>"
        );
        assert!(as_cited(&[first, snapshot(None)]).contains("unknown"));
    }

    #[test]
    fn escaping_and_safe_links() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(
            original_link("http://a/?x=1&y=\"2\"", "t"),
            "<a href=\"http://a/?x=1&amp;y=&quot;2&quot;\" rel=\"noreferrer\">t</a>"
        );
        assert_eq!(original_link("javascript:alert(1)", "<x>"), "&lt;x&gt;");
    }
}
