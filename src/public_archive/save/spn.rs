//! The two calls of the Wayback Machine's Save Page Now 2 API, and what their answers mean.
//!
//! - `POST <endpoint>/save` with the form body `url=<url>&skip_first_archive=1` starts a
//!   capture job: `{"url": …, "job_id": …}`, or a refusal `{"status": "error", "status_ext":
//!   "error:too-many-daily-captures", "message": …}` (with HTTP 200).
//! - `GET <endpoint>/save/status/<job_id>` tells how the job is going: `{"status": "pending"}`,
//!   `{"status": "success", "timestamp": "<14 digits>", "original_url": …}` (the copy is then
//!   `<endpoint>/web/<timestamp>/<original_url>`), or `{"status": "error", "status_ext": …,
//!   "message": …}`.
//!
//! Both send `Accept: application/json` and `Authorization: LOW <access>:<secret>` (the S3-style
//! keys of an archive.org account), marked sensitive so that no `Debug` output of a request or
//! its headers shows it. The client is linkkeep's own, sharing only the network configuration's
//! timeouts, TLS trust, proxies and user agent: the user's `-H` headers are meant for the sites
//! they cite, not for the archive.
//!
//! `skip_first_archive=1` because linkkeep never reads whether a capture is the URL's first,
//! and the docs say checking it makes captures slower.

use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::config::{NetworkConfig, SubmitCredentials};
use crate::fetch::client::{ClientError, with_trust_and_proxies};
use crate::fetch::retry::retry_after;

/// The most of an answer read: every answer of the API is a small JSON object, and a
/// misbehaving endpoint must not fill the memory.
const ANSWER_LIMIT: usize = 64 * 1024;
/// The most of an archive's message kept in a refusal: enough for every message the API
/// documents, short enough for a report line.
const MESSAGE_LIMIT: usize = 300;
/// The refusal Save Page Now gives when the account has too many captures running: a request
/// to slow down rather than a verdict on the URL.
const SESSION_LIMIT: &str = "error:user-session-limit";

/// A client of one archive's Save Page Now API.
#[derive(Debug, Clone)]
pub struct SpnClient {
    http: Client,
    /// The archive's address, without a trailing slash.
    endpoint: String,
    /// `LOW <access>:<secret>`, marked sensitive.
    authorization: HeaderValue,
}

/// What Save Page Now answered to a capture request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// It started a job (or handed back the job of a capture made moments ago).
    Job(String),
    /// It refused to capture the URL: its `status_ext` and message, on one line.
    Refused(String),
}

/// What Save Page Now answered about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// Still running; ask again after `retry_after` when the archive said so.
    Pending {
        /// The archive's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Captured: the copy's address and when it was made (RFC 3339 UTC).
    Captured {
        /// `<endpoint>/web/<timestamp>/<original_url>`.
        memento: String,
        /// The capture's time, RFC 3339 UTC.
        timestamp: String,
    },
    /// The capture failed: the archive's `status_ext` and message, on one line.
    Failed(String),
    /// The archive does not know the job (it keeps a job's status for a limited time).
    Unknown,
}

/// Why a call to Save Page Now did not get an answer about the capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpnError {
    /// HTTP 429, or too many captures of the account running: ask again later.
    #[error("Save Page Now asked to slow down")]
    RateLimited {
        /// The archive's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 401 or 403: the keys are wrong, and every further call would fail alike.
    #[error(
        "Save Page Now refused the keys in {access} and {secret} (HTTP {0})",
        access = super::super::WAYBACK_ACCESS_KEY_VAR,
        secret = super::super::WAYBACK_SECRET_KEY_VAR
    )]
    Credentials(u16),
    /// No answer, or a server error: worth asking again a little later.
    #[error("Save Page Now could not be reached: {0}")]
    Unavailable(String),
    /// An answer that is not the API's.
    #[error("Save Page Now gave an answer linkkeep cannot read: {0}")]
    Unreadable(String),
}

impl SpnClient {
    /// A client of the API at `endpoint` with `credentials`, sharing `network`'s timeouts,
    /// trust, proxies and user agent (never its `-H` headers).
    pub fn new(
        endpoint: &url::Url,
        credentials: &SubmitCredentials,
        network: &NetworkConfig,
    ) -> Result<Self, ClientError> {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, network.user_agent.clone());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let builder = Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            // Every answer is a small JSON object: `--timeout` bounds the whole call.
            .timeout(network.timeout);
        let http = with_trust_and_proxies(builder, network)?
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self {
            http,
            endpoint: endpoint.as_str().trim_end_matches('/').to_owned(),
            authorization: authorization(credentials),
        })
    }

    /// Asks the archive to capture `url`.
    pub async fn submit(&self, url: &str) -> Result<Accepted, SpnError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("url", url)
            .append_pair("skip_first_archive", "1")
            .finish();
        let request = self
            .http
            .post(format!("{}/save", self.endpoint))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let (status, headers, answer) = self.call(request).await?;
        let answer = answer_of(status, &headers, &answer)?;
        if let Some(reason) = refusal(&answer) {
            if reason.starts_with(SESSION_LIMIT) {
                return Err(SpnError::RateLimited { retry_after: None });
            }
            return Ok(Accepted::Refused(reason));
        }
        match text_field(&answer, "job_id") {
            Some(job) if !job.is_empty() => Ok(Accepted::Job(job.to_owned())),
            _ => Err(SpnError::Unreadable("an answer with no job_id and no error".into())),
        }
    }

    /// Asks the archive how job `job_id` is going.
    pub async fn status(&self, job_id: &str) -> Result<JobStatus, SpnError> {
        let mut url = url::Url::parse(&format!("{}/save/status/", self.endpoint))
            .map_err(|e| SpnError::Unreadable(format!("the endpoint {}: {e}", self.endpoint)))?;
        // The id is the archive's, but it becomes one path segment whatever it holds.
        url.path_segments_mut()
            .map_err(|()| SpnError::Unreadable(format!("the endpoint {} takes no path", self.endpoint)))?
            .pop_if_empty()
            .push(job_id);
        let request = self.http.get(url).header(AUTHORIZATION, self.authorization.clone());
        let (status, headers, answer) = self.call(request).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(JobStatus::Unknown);
        }
        let answer = answer_of(status, &headers, &answer)?;
        match text_field(&answer, "status") {
            Some("pending") => Ok(JobStatus::Pending {
                retry_after: retry_after(&headers, SystemTime::now()),
            }),
            Some("success") => self.captured(&answer),
            Some("error") => Ok(JobStatus::Failed(refusal(&answer).unwrap_or_else(|| "error".into()))),
            Some(other) => Err(SpnError::Unreadable(format!("a job status `{}`", one_line(other)))),
            None => Err(SpnError::Unreadable("a job answer without a status".into())),
        }
    }

    /// A successful job's copy: `<endpoint>/web/<timestamp>/<original_url>`.
    fn captured(&self, answer: &Value) -> Result<JobStatus, SpnError> {
        let stamp = text_field(answer, "timestamp").unwrap_or_default();
        let timestamp = rfc3339_of_wayback(stamp)
            .ok_or_else(|| SpnError::Unreadable(format!("a capture timestamp `{}`", one_line(stamp))))?;
        let original = text_field(answer, "original_url").unwrap_or_default();
        // The copy's address goes into citations: it must be a web address, nothing else.
        let original = url::Url::parse(original)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| SpnError::Unreadable(format!("an original_url `{}`", one_line(original))))?;
        Ok(JobStatus::Captured {
            memento: format!("{}/web/{stamp}/{original}", self.endpoint),
            timestamp,
        })
    }

    /// Sends `request` and reads its answer (at most [`ANSWER_LIMIT`] bytes).
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<(StatusCode, HeaderMap, Vec<u8>), SpnError> {
        let unavailable = |e: reqwest::Error| SpnError::Unavailable(crate::fetch::describe_error(&e).message);
        let mut response = request.send().await.map_err(unavailable)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > ANSWER_LIMIT {
                return Err(SpnError::Unreadable(format!(
                    "an answer longer than {ANSWER_LIMIT} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }
}

/// `LOW <access>:<secret>`, marked sensitive: reqwest and hyper then leave it out of every
/// `Debug` output, and HTTP/2 never puts it in a compression table.
fn authorization(credentials: &SubmitCredentials) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("LOW {}:{}", credentials.access, credentials.secret))
        // Keys from the environment with a control character cannot be sent; an empty value
        // makes the archive answer 401, which names the variables.
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// The JSON object of an answer with `status`, or why there is none to read.
fn answer_of(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<Value, SpnError> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(SpnError::RateLimited {
            retry_after: retry_after(headers, SystemTime::now()),
        });
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(SpnError::Credentials(status.as_u16()));
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Err(SpnError::Unavailable(format!("HTTP {}", status.as_u16())));
    }
    let answer = serde_json::from_slice::<Value>(body).ok().filter(Value::is_object);
    match answer {
        // A refusal may come with a 4xx status: its reason is what matters.
        Some(answer) if status.is_success() || refusal(&answer).is_some() => Ok(answer),
        _ if status.is_success() => Err(SpnError::Unreadable("an answer that is not a JSON object".into())),
        _ => Err(SpnError::Unreadable(format!("HTTP {}", status.as_u16()))),
    }
}

/// The reason of an answer with `"status": "error"`: `status_ext: message`, on one line.
fn refusal(answer: &Value) -> Option<String> {
    if text_field(answer, "status") != Some("error") {
        return None;
    }
    let ext = text_field(answer, "status_ext").unwrap_or("error");
    Some(
        match text_field(answer, "message").map(one_line).filter(|m| !m.is_empty()) {
            Some(message) => format!("{}: {message}", one_line(ext)),
            None => one_line(ext),
        },
    )
}

/// A string field of a JSON object.
fn text_field<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    answer.get(name).and_then(Value::as_str)
}

/// `text` from outside on one line: control characters become spaces, runs of white space
/// one space, and at most [`MESSAGE_LIMIT`] characters are kept.
fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if crate::report::is_unsafe_on_terminal(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut line = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MESSAGE_LIMIT {
        line = line.chars().take(MESSAGE_LIMIT - 1).collect();
        line.push('…');
    }
    line
}

/// A Wayback timestamp (`YYYYMMDDhhmmss`, UTC) as RFC 3339, if it is one.
pub fn rfc3339_of_wayback(stamp: &str) -> Option<String> {
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S").ok()?;
    Some(crate::report::timestamp(at.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wayback_timestamps_become_rfc3339() {
        assert_eq!(
            rfc3339_of_wayback("20261205160432").as_deref(),
            Some("2026-12-05T16:04:32Z")
        );
        for bad in [
            "",
            "2026120516043",
            "202612051604321",
            "2026120516043x",
            "20261305160432",
        ] {
            assert_eq!(rfc3339_of_wayback(bad), None, "{bad}");
        }
    }

    #[test]
    fn refusals_read_status_ext_and_message_on_one_line() {
        let answer = serde_json::json!({
            "status": "error",
            "status_ext": "error:too-many-daily-captures",
            "message": "This URL has been\nalready captured 10 times today.\u{1b}[31m",
        });
        assert_eq!(
            refusal(&answer).unwrap(),
            "error:too-many-daily-captures: This URL has been already captured 10 times today. [31m"
        );
        assert_eq!(refusal(&serde_json::json!({"status": "error"})).unwrap(), "error");
        assert_eq!(refusal(&serde_json::json!({"url": "u", "job_id": "j"})), None);
        let long = "x".repeat(1000);
        assert_eq!(one_line(&long).chars().count(), MESSAGE_LIMIT);
    }

    #[test]
    fn answers_are_sorted_by_status() {
        let none = HeaderMap::new();
        let json = br#"{"status":"error","status_ext":"error:blocked-url","message":"no"}"#;
        assert!(matches!(
            answer_of(StatusCode::TOO_MANY_REQUESTS, &none, b""),
            Err(SpnError::RateLimited { retry_after: None })
        ));
        assert_eq!(
            answer_of(StatusCode::UNAUTHORIZED, &none, b""),
            Err(SpnError::Credentials(401))
        );
        assert!(matches!(
            answer_of(StatusCode::BAD_GATEWAY, &none, b""),
            Err(SpnError::Unavailable(_))
        ));
        assert!(
            answer_of(StatusCode::BAD_REQUEST, &none, json).is_ok(),
            "a refusal with a 4xx"
        );
        assert!(matches!(
            answer_of(StatusCode::BAD_REQUEST, &none, b"<html>"),
            Err(SpnError::Unreadable(_))
        ));
        assert!(matches!(
            answer_of(StatusCode::OK, &none, b"<html>"),
            Err(SpnError::Unreadable(_))
        ));
    }

    #[test]
    fn the_authorization_header_is_sensitive_and_hidden_from_debug() {
        let credentials = SubmitCredentials {
            access: "ACCESSKEY1".into(),
            secret: "SECRETKEY2".into(),
        };
        let value = authorization(&credentials);
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "LOW ACCESSKEY1:SECRETKEY2");
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        let shown = format!("{headers:?}");
        assert!(
            !shown.contains("SECRETKEY2") && !shown.contains("ACCESSKEY1"),
            "{shown}"
        );
    }
}
