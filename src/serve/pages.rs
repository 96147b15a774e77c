//! The server's own HTML pages: the index of archived links, and the error pages. Plain HTML with
//! inline CSS and no JavaScript; every value from the manifest or the request is escaped.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::catalog::Catalog;
use super::history::History;
use super::story::{self, PAGE_SIZE, State as LinkState};
use super::target::capture_timestamp;
use crate::manifest::{LinkEntry, Snapshot};
use crate::report::percent;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid #ddd}\
th{background:#f4f4f4}td.url{font-size:.85em;color:#555;word-break:break-all}\
.url{word-break:break-all}.ok{color:#176f2c}.failed{color:#b00020}.drift{color:#a35200}a{color:#0645ad}\
.state.ok{color:#176f2c}.state.broken,.state.soft-404{color:#b00020}.state.changed{color:#a35200}\
nav.filters,nav.pages,form.search,p.source{margin:.6rem 0}pre{white-space:pre-wrap}";

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

/// What `/` may be asked: a state to filter by, words to search for, a page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct IndexQuery {
    state: Option<String>,
    q: Option<String>,
    page: Option<usize>,
}

/// `/`: the citing document, then the links, filtered by state, searched, a page at a time.
pub async fn index(State(shared): State<Shared>, Query(query): Query<IndexQuery>) -> Response {
    match shared.catalogs.current().await {
        Ok(catalog) => page(StatusCode::OK, "linkkeep archive", &index_body(&catalog, &query)),
        Err(message) => error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}

/// The citing document, from links.json's `source`: its title, author, date and document.
fn source_header(catalog: &Catalog) -> String {
    let field = |name: &str| {
        catalog
            .source
            .as_ref()
            .and_then(|s| s.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let Some(title) = field("title") else {
        return "<h1>linkkeep archive</h1>\n".to_owned();
    };
    let mut out = format!("<h1>{}</h1>\n<p class=\"source\">", escape(&title));
    let byline: Vec<String> = [field("author"), field("date")]
        .into_iter()
        .flatten()
        .map(|v| escape(&v))
        .collect();
    out.push_str(&byline.join(" · "));
    if let Some(document) = field("document") {
        if !byline.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(&original_link(&document, &document));
    }
    out.push_str("</p>\n<p>The links it cites, as this archive keeps them.</p>\n");
    out
}

/// The index's address for a state, a search and a page (escaped for an attribute).
fn index_href(state: Option<LinkState>, q: &str, page: usize) -> String {
    let mut parts = Vec::new();
    if let Some(state) = state {
        parts.push(format!("state={}", state.key()));
    }
    if !q.is_empty() {
        parts.push(format!(
            "q={}",
            crate::markup::percent_encode(q, |c| !c.is_ascii_alphanumeric())
        ));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/".to_owned()
    } else {
        escape(&format!("/?{}", parts.join("&")))
    }
}

fn index_body(catalog: &Catalog, query: &IndexQuery) -> String {
    let mut body = source_header(catalog);
    let story = catalog.story();
    if story.total() == 0 {
        body.push_str("<p>The archive is empty: no link has been archived yet.</p>");
        return body;
    }
    let state = query.state.as_deref().and_then(LinkState::from_key);
    let q = query.q.as_deref().unwrap_or_default().trim();
    let page_no = query.page.unwrap_or(1).max(1);
    // Filters, each with its count: which citations broke or drifted, at a glance.
    body.push_str("<nav class=\"filters\">");
    let all = format!("all ({})", story.total());
    let mut filters = vec![(None, all)];
    filters.extend(
        LinkState::ALL
            .into_iter()
            .filter(|s| story.count(*s) > 0 || *s != LinkState::Unchecked)
            .map(|s| (Some(s), format!("{} ({})", s.label(), story.count(s)))),
    );
    let shown: Vec<String> = filters
        .into_iter()
        .map(|(s, label)| {
            let class = match s {
                Some(s) => format!("state {}", s.key()),
                None => "state".to_owned(),
            };
            if s == state {
                format!("<strong class=\"{class}\">{}</strong>", escape(&label))
            } else {
                format!(
                    "<a class=\"{class}\" href=\"{}\">{}</a>",
                    index_href(s, q, 1),
                    escape(&label)
                )
            }
        })
        .collect();
    body.push_str(&shown.join(" · "));
    body.push_str("</nav>\n");
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/\" class=\"search\"><input type=\"search\" name=\"q\" value=\"{}\" \
         placeholder=\"title or URL\" aria-label=\"search by title or URL\">",
        escape(q)
    );
    if let Some(state) = state {
        let _ = write!(body, "<input type=\"hidden\" name=\"state\" value=\"{}\">", state.key());
    }
    body.push_str("<button type=\"submit\">Search</button></form>\n");

    let found = story.find(state, q, page_no);
    let first = (page_no - 1) * PAGE_SIZE;
    if found.rows.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"count\">No link matches ({} in all).</p>",
            found.matching
        );
    } else {
        let _ = writeln!(
            body,
            "<p class=\"count\">Links {}–{} of {}.</p>",
            first + 1,
            first + found.rows.len(),
            found.matching
        );
    }
    body.push_str(
        "<table>\n<thead><tr><th>Title</th><th>Publisher</th><th>State</th><th>Last checked</th>\
         <th>Captures</th><th>Text as cited</th><th>Links</th></tr></thead>\n<tbody>\n",
    );
    for row in &found.rows {
        let mut links_cell = String::new();
        if let Some(ts) = &row.latest {
            let _ = write!(
                links_cell,
                "<a href=\"/web/{ts}/{}\">latest capture</a> · ",
                escape(&row.url)
            );
        }
        links_cell.push_str(&original_link(&row.url, "original"));
        let entry = catalog.manifest.links.get(&row.id);
        // Copies public archives made, for a reader whose original and this archive are both
        // gone; they open on the live web, outside the archive, as "original" does.
        for copy in entry.into_iter().flat_map(|e| e.public_copies()) {
            let when = copy.timestamp.as_deref().and_then(|t| t.get(..10)).unwrap_or_default();
            let text = format!("{} copy {when}", copy.archive);
            links_cell.push_str(" · ");
            links_cell.push_str(&original_link(copy.url.as_deref().unwrap_or_default(), text.trim_end()));
        }
        let cited = entry.map(|e| as_cited(&e.snapshots)).unwrap_or_default();
        // A failure names its outcome, and its error on hover.
        let state_cell = match (row.outcome, &row.error) {
            (Some(outcome), error) if outcome.is_failure() => format!(
                "<span class=\"state {}\" title=\"{}\">{} ({})</span>",
                row.state.key(),
                escape(error.as_deref().unwrap_or_default()),
                row.state.label(),
                outcome.as_str()
            ),
            _ => format!("<span class=\"state {}\">{}</span>", row.state.key(), row.state.label()),
        };
        let _ = writeln!(
            body,
            "<tr id=\"{id}\"><td><a href=\"/link/{path}\">{title}</a><br><span class=\"url\">{url}</span></td>\
             <td>{publisher}</td><td>{state_cell}</td><td>{checked}</td><td>{captures}</td><td>{cited}</td><td>{links_cell}</td></tr>",
            id = escape(&row.id),
            path =
                escape(&crate::markup::percent_encode(&row.id, |c| !c.is_ascii_alphanumeric() && !"-_.".contains(c))),
            title = escape(&row.title),
            url = escape(&row.url),
            publisher = escape(&row.publisher),
            checked = escape(row.checked.as_deref().unwrap_or("never")),
            captures = row.captures,
        );
    }
    body.push_str("</tbody></table>\n<nav class=\"pages\">");
    if page_no > 1 {
        let _ = write!(
            body,
            "<a rel=\"prev\" href=\"{}\">previous</a> ",
            index_href(state, q, page_no - 1)
        );
    }
    if first + found.rows.len() < found.matching {
        let _ = write!(
            body,
            "<a rel=\"next\" href=\"{}\">next</a>",
            index_href(state, q, page_no + 1)
        );
    }
    body.push_str("</nav>");
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

/// The 404 of a link id the archive does not have.
fn no_such_link(id: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No such link",
        &format!(
            "<h1>No such link</h1>\n<p>The archive has no link {}.</p>\n<p><a href=\"/\">All archived links</a></p>",
            escape(id)
        ),
    )
}

/// A link's history, on the blocking pool (a report written since the last look is read).
async fn history_of(shared: &Shared, id: &str, entry: &LinkEntry) -> History {
    let (histories, id, entry) = (Arc::clone(&shared.histories), id.to_owned(), entry.clone());
    tokio::task::spawn_blocking(move || histories.of(&id, &entry))
        .await
        .unwrap_or_default()
}

/// `/link/<id>/timeline.svg`: the link's captures and checks as a picture.
pub async fn timeline(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let catalog = match shared.catalogs.current().await {
        Ok(catalog) => catalog,
        Err(message) => return error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let Some(entry) = catalog.manifest.links.get(&id) else {
        return no_such_link(&id);
    };
    let svg = story::timeline_svg(&history_of(&shared, &id, entry).await.events);
    ([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response()
}

/// `/link/<id>`: a link's own page: what links.json says of it, its state, its timeline, its
/// cited capture and every later one (with diffs between them), and its citation.
pub async fn link(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let catalog = match shared.catalogs.current().await {
        Ok(catalog) => catalog,
        Err(message) => return error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let Some(entry) = catalog.manifest.links.get(&id) else {
        return no_such_link(&id);
    };
    let history = history_of(&shared, &id, entry).await;
    let meta = catalog.meta(&id);
    let title = meta
        .title
        .clone()
        .or_else(|| entry.snapshots.last().and_then(|s| s.title.clone()))
        .unwrap_or_else(|| id.clone());
    let state = LinkState::of(entry);
    let path = link_path(&id);
    let mut body = format!(
        "<p><a href=\"/\">All archived links</a></p>\n<h1>{}</h1>\n<p class=\"url\">{}</p>\n",
        escape(&title),
        original_link(&entry.url, &entry.url)
    );
    let mut facts = Vec::new();
    if let Some(publisher) = &meta.publisher {
        facts.push(format!("Published by {}", escape(publisher)));
    }
    facts.push(format!(
        "<span class=\"state {}\">{}</span>",
        state.key(),
        state.label()
    ));
    if let Some(check) = &entry.last_check {
        let error = check
            .error
            .as_deref()
            .map(|e| format!(": {}", escape(e)))
            .unwrap_or_default();
        facts.push(format!(
            "last checked {} ({}{error})",
            escape(&check.at),
            check.outcome.as_str()
        ));
    }
    let _ = writeln!(body, "<p>{}</p>", facts.join(" · "));
    if let Some(note) = &meta.note {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    let _ = writeln!(
        body,
        "<h2>Captures and checks</h2>\n<figure>{}<figcaption><a href=\"/link/{path}/timeline.svg\">timeline.svg</a></figcaption></figure>",
        story::timeline_svg(&history.events)
    );
    if let Some((done, total)) = history.pending {
        let _ = writeln!(
            body,
            "<p class=\"pending\">The server is still reading the run reports ({done} of {total}): \
             until it is done, this shows the captures the manifest holds, not every check.</p>"
        );
    }
    if let Some(first) = entry.snapshots.first() {
        let _ = writeln!(
            body,
            "<h2>As cited</h2>\n<p>{}, SHA-256 <code>{}</code>.</p>\n<p>The latest capture: {}</p>",
            replay_link(entry, first, &format!("The cited capture of {}", first.first_seen)),
            escape(&first.sha256),
            as_cited(&entry.snapshots)
        );
        if let Some(latest) = entry.snapshots.last().filter(|_| entry.snapshots.len() > 1) {
            let _ = writeln!(body, "<p>Latest SHA-256 <code>{}</code>.</p>", escape(&latest.sha256));
        }
        body.push_str(
            "<table>\n<thead><tr><th>Captured</th><th>Last seen</th><th>Change</th><th>SHA-256</th><th>Requisites</th><th></th></tr></thead>\n<tbody>\n",
        );
        for (n, snapshot) in entry.snapshots.iter().enumerate() {
            let change = match (n, snapshot.text.as_ref()) {
                (0, _) => "cited".to_owned(),
                (_, Some(text)) if text.cosmetic => "cosmetic".to_owned(),
                (_, Some(text)) => match text.similarity {
                    Some(s) => format!("changed ({} the same)", crate::report::percent(s)),
                    None => "changed".to_owned(),
                },
                (_, None) => "new bytes".to_owned(),
            };
            let requisites = snapshot.requisites.as_ref().map_or_else(String::new, |r| {
                let failed = if r.failed.is_empty() {
                    String::new()
                } else {
                    format!(", {} failed", r.failed.len())
                };
                format!("{} captured{failed}", r.captured)
            });
            let mut links = replay_link(entry, snapshot, "replay");
            if n > 0 {
                let (from, to) = (
                    capture_timestamp(&entry.snapshots[n - 1]).unwrap_or_default(),
                    capture_timestamp(snapshot).unwrap_or_default(),
                );
                let _ = write!(
                    links,
                    " · <a href=\"/link/{path}/diff?from={from}&amp;to={to}\">diff from the one before</a>"
                );
                if n > 1 {
                    let cited = capture_timestamp(first).unwrap_or_default();
                    let _ = write!(
                        links,
                        " · <a href=\"/link/{path}/diff?from={cited}&amp;to={to}\">diff from the cited</a>"
                    );
                }
            }
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{change}</td><td><code>{}</code></td><td>{requisites}</td><td>{links}</td></tr>",
                escape(&snapshot.first_seen),
                escape(&snapshot.last_seen),
                escape(snapshot.sha256.get(..12).unwrap_or(&snapshot.sha256)),
            );
        }
        body.push_str("</tbody></table>\n");
    } else {
        body.push_str("<p>No capture yet.</p>\n");
    }
    let citation = crate::cite::Citation::new(
        &id,
        &entry.url,
        catalog.listed(&id),
        Some(entry),
        &crate::cite::Options::default(),
    );
    let _ = writeln!(
        body,
        "<h2>Citation</h2>\n<pre class=\"citation\">{}</pre>",
        escape(
            crate::cite::format::render(crate::cite::format::Format::Text, std::slice::from_ref(&citation)).trim_end()
        )
    );
    page(StatusCode::OK, &title, &body)
}

/// A link to replay `snapshot`, or `text` alone when it has no timestamp.
fn replay_link(entry: &LinkEntry, snapshot: &Snapshot, text: &str) -> String {
    match capture_timestamp(snapshot) {
        Some(ts) => format!("<a href=\"/web/{ts}/{}\">{}</a>", escape(&entry.url), escape(text)),
        None => escape(text),
    }
}

/// A link id as a path segment.
fn link_path(id: &str) -> String {
    escape(&crate::markup::percent_encode(id, |c| {
        !c.is_ascii_alphanumeric() && !"-_.".contains(c)
    }))
}

/// What `/link/<id>/diff` is asked: two captures' timestamps.
#[derive(Debug, serde::Deserialize)]
pub struct DiffQuery {
    from: String,
    to: String,
}

/// `/link/<id>/diff?from=<ts>&to=<ts>`: how the main text changed between two captures, as
/// `linkkeep diff` shows it.
pub async fn diff(State(shared): State<Shared>, Path(id): Path<String>, Query(query): Query<DiffQuery>) -> Response {
    let catalog = match shared.catalogs.current().await {
        Ok(catalog) => catalog,
        Err(message) => return error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let Some(entry) = catalog.manifest.links.get(&id) else {
        return no_such_link(&id);
    };
    let pick = |ts: &str| {
        entry
            .snapshots
            .iter()
            .find(|s| capture_timestamp(s).as_deref() == Some(ts))
    };
    let (Some(from), Some(to)) = (pick(&query.from), pick(&query.to)) else {
        return error(
            StatusCode::NOT_FOUND,
            "the link has no capture at one of those timestamps",
        );
    };
    let archive = shared.catalogs.root();
    let sides = async {
        let old = crate::commands::diff::read_capture(archive, &id, entry, from).await?;
        let new = crate::commands::diff::read_capture(archive, &id, entry, to).await?;
        anyhow::Ok((old, new))
    };
    let (old, new) = match sides.await {
        Ok(sides) => sides,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    };
    let report = crate::commands::diff::DiffReport::new(&id, &entry.url, old, new);
    let mut text = Vec::new();
    let _ = report.render(crate::config::Format::Human, false, false, &mut text);
    let body = format!(
        "<p><a href=\"/link/{}\">Back to the link</a></p>\n<h1>{}</h1>\n<pre class=\"diff\">{}</pre>",
        link_path(&id),
        escape(&report.summary_line()),
        escape(&String::from_utf8_lossy(&text))
    );
    page(StatusCode::OK, "diff", &body)
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
