//! Turning transport errors into one-line explanations a user can act on.

use std::error::Error as _;

use crate::outcome::Outcome;

/// How a transport error is classified.
pub struct Described {
    /// `timeout` or `network_error`.
    pub outcome: Outcome,
    /// One line, without the URL.
    pub message: String,
    /// Whether trying again could help.
    pub retryable: bool,
}

/// Answers of the system resolver that mean "this name does not exist", as opposed to a
/// resolver that could not be reached ("Temporary failure in name resolution").
const PERMANENT_DNS_FAILURES: [&str; 2] = ["Name or service not known", "No address associated with hostname"];

/// Classifies a reqwest error and explains it in one line, without the URL (reports print the
/// URL beside it) and without the wrappers' boilerplate ("client error (Connect)").
pub fn describe(err: &reqwest::Error) -> Described {
    let outcome = if err.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::NetworkError
    };
    let mut parts: Vec<String> = Vec::new();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        let boilerplate = text.starts_with("client error (") || text.is_empty();
        let repeated = parts.last().is_some_and(|last| last.contains(&text));
        if !boilerplate && !repeated {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    let mut message = parts.join(": ");
    let mut retryable = !err.is_builder();
    if let Some(rest) = message.strip_prefix("dns error: ") {
        // A name that does not exist will not exist a second later either.
        retryable = !PERMANENT_DNS_FAILURES.iter().any(|m| rest.contains(m));
        message = format!("DNS lookup failed: {rest}");
    }
    Described {
        outcome,
        message,
        retryable,
    }
}
