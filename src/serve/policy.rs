//! The security headers of every response. A capture is hostile until proven otherwise: it is
//! sandboxed away from the server's origin and may load only from the archive. The server's own
//! pages, the API and the TimeMaps get a strict policy of their own.
//!
//! # Why a sandbox
//! Every capture is served from the same origin as `/api/links` and every other capture. Without
//! a sandbox, a script in one archived page could read them all. The CSP `sandbox` directive
//! without `allow-same-origin` gives the capture's document an opaque origin: to the browser it is
//! cross-origin to everything on this server, so it can read nothing back (no CORS header is ever
//! sent), and `connect-src 'none'` keeps it from even asking. Loads (scripts, styles, images,
//! fonts, media, frames) are confined to the server's `/web/` prefix, which is the archive; CSP
//! matches such a source against the request URL, not the document's opaque origin, so archived
//! scripts and images keep working. What CSP cannot stop is a script navigating its own page to
//! a live URL; from an opaque origin it has nothing of the archive to carry there.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The policy of the server's own HTML pages, the JSON API and the TimeMaps: inline styles (the
/// pages have a `<style>`; a link's timeline is inline SVG), nothing else to load, forms only to
/// the server itself (the index's search), no `<base>`, and never in a frame.
pub const OWN_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What a capture may still do inside its sandbox: run its scripts, submit its forms (into the
/// archive: see `form-action`), open popups (which inherit the sandbox), show dialogs and offer
/// downloads. Never `allow-same-origin`, never `allow-top-navigation`.
const SANDBOX: &str = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/// Sends a `Content-Security-Policy`, `X-Content-Type-Options: nosniff` (so no capture is run as
/// a type it was not served as) and `Referrer-Policy: no-referrer` (so a page that does get a
/// navigation out does not tell the live web where the archive is) on every response; responses
/// without a policy of their own get [`OWN_POLICY`].
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(OWN_POLICY));
    response
}

/// The policy of a capture requested with `request` headers: sandboxed without
/// `allow-same-origin`, loading only from the archive (and `data:`/`blob:` URLs the page makes
/// itself), connecting nowhere.
pub fn capture_policy(request: &HeaderMap) -> HeaderValue {
    let archive = archive_source(request.get(header::HOST).and_then(|h| h.to_str().ok()));
    let policy = format!(
        "{SANDBOX}; default-src 'none'; script-src {archive} 'unsafe-inline' 'unsafe-eval'; \
         style-src {archive} 'unsafe-inline'; img-src {archive} data: blob:; font-src {archive} data:; \
         media-src {archive} data: blob:; object-src {archive}; frame-src {archive}; connect-src 'none'; \
         form-action {archive}; base-uri {archive}"
    );
    HeaderValue::from_str(&policy).expect("archive_source returns header-safe text")
}

/// The CSP source expression for the archive: `HOST[:PORT]/web/` when the request's `Host` is a
/// valid CSP host (the path confines loads to captures, not `/api/links` or the index), else
/// `'self'` (an IPv6 literal cannot be written as a CSP host; `'self'` still means the server's
/// origin, even from a sandboxed document).
fn archive_source(host: Option<&str>) -> String {
    match host.filter(|h| is_csp_host(h)) {
        Some(host) => format!("{host}/web/"),
        None => "'self'".to_owned(),
    }
}

/// Whether `host` is `name[:port]` in CSP's host-source grammar: dot-separated labels of letters,
/// digits and hyphens, and a port of digits.
fn is_csp_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    name.split('.').all(label)
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_for(host: Option<&str>) -> String {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        capture_policy(&headers).to_str().unwrap().to_owned()
    }

    #[test]
    fn captures_are_sandboxed_and_confined_to_the_archive() {
        let policy = policy_for(Some("127.0.0.1:8080"));
        assert!(policy.starts_with("sandbox allow-scripts "), "{policy}");
        assert!(!policy.contains("allow-same-origin"), "{policy}");
        assert!(!policy.contains("allow-top-navigation"), "{policy}");
        assert!(policy.contains("script-src 127.0.0.1:8080/web/ "), "{policy}");
        assert!(policy.contains("connect-src 'none'"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        // Nothing names another host, a scheme of the live web or a wildcard.
        assert!(!policy.contains("http") && !policy.contains('*'), "{policy}");
    }

    #[test]
    fn hosts_csp_cannot_name_fall_back_to_self() {
        assert!(policy_for(Some("localhost")).contains("script-src localhost/web/ "));
        for host in [
            None,
            Some("[::1]:8080"),
            Some("a_b:80"),
            Some("a;b"),
            Some("a:"),
            Some("a..b"),
            Some("a:123456"),
        ] {
            let policy = policy_for(host);
            assert!(policy.contains("script-src 'self' "), "{host:?}: {policy}");
        }
    }
}
