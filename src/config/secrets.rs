//! Header values that name environment variables (`"Bearer ${PUBLISHER_TOKEN}"`), and which
//! header values are secrets: never written to a WARC record, a report, a log or `linkkeep
//! config`'s output.
//!
//! A value that took anything from the environment is a secret, and so is every value of
//! `Authorization`, `Cookie` and `Proxy-Authorization`. Secrets are marked on the
//! [`HeaderValue`] itself (`set_sensitive`), so whatever writes headers down can tell.

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderName, HeaderValue, PROXY_AUTHORIZATION};

use super::Environment;

/// What a secret is written as.
pub const REDACTED: &str = "[redacted]";

/// A piece of a header value template.
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits `template` into text and `${NAME}` references; `$$` is a literal `$`.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        pieces.push(Piece::Text(&rest[..at]));
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('$') {
            pieces.push(Piece::Text("$"));
            rest = after;
        } else if let Some(after) = after.strip_prefix('{') {
            let end = after
                .find('}')
                .ok_or_else(|| format!("`${{` without its `}}` in `{template}`"))?;
            let name = &after[..end];
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("`${{{name}}}` is not an environment variable name"));
            }
            pieces.push(Piece::Variable(name));
            rest = &after[end + 1..];
        } else {
            pieces.push(Piece::Text("$"));
            rest = after;
        }
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks the `${NAME}` references of `template` without reading the environment.
pub fn check_template(template: &str) -> Result<(), String> {
    pieces(template).map(drop)
}

/// Whether `template` takes anything from the environment.
pub fn names_variables(template: &str) -> bool {
    pieces(template).is_ok_and(|p| p.iter().any(|p| matches!(p, Piece::Variable(_))))
}

/// `template` with its references filled in from `env`; a variable that is not set (or is
/// empty) is an error naming it.
pub fn expand(template: &str, env: &Environment) -> Result<String, String> {
    let mut value = String::with_capacity(template.len());
    for piece in pieces(template)? {
        match piece {
            Piece::Text(text) => value.push_str(text),
            Piece::Variable(name) => match env.vars.get(name).filter(|v| !v.is_empty()) {
                Some(v) => value.push_str(v),
                None => return Err(format!("the environment variable {name} is not set")),
            },
        }
    }
    Ok(value)
}

/// Whether every value of a header named `name` is a secret.
pub fn is_credential(name: &HeaderName) -> bool {
    name == AUTHORIZATION || name == COOKIE || name == PROXY_AUTHORIZATION
}

/// The header value for `template`, filled in from `env` and marked sensitive when it is a
/// secret.
pub fn header_value(name: &HeaderName, template: &str, env: &Environment) -> Result<HeaderValue, String> {
    let text = expand(template, env)?;
    let mut value =
        HeaderValue::from_str(&text).map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    if is_credential(name) || names_variables(template) {
        value.set_sensitive(true);
    }
    Ok(value)
}

/// How a header's value may be shown (`linkkeep config`): a template as written (the names of
/// its variables are no secret), a credential's literal value never.
pub fn shown(name: &HeaderName, template: &str) -> String {
    if names_variables(template) {
        template.to_owned()
    } else if is_credential(name) {
        REDACTED.to_owned()
    } else {
        template.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Environment::default()
        }
    }

    #[test]
    fn variables_are_filled_in_and_dollars_kept() {
        let env = env(&[("TOKEN", "s3cr3t"), ("_A1", "x")]);
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cr3t");
        assert_eq!(expand("${_A1}-${TOKEN}", &env).unwrap(), "x-s3cr3t");
        assert_eq!(expand("costs $5, $${TOKEN}", &env).unwrap(), "costs $5, ${TOKEN}");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let error = expand("Bearer ${PUBLISHER_TOKEN}", &env(&[])).unwrap_err();
        assert!(error.contains("PUBLISHER_TOKEN"), "{error}");
        let error = expand("${EMPTY}", &env(&[("EMPTY", "")])).unwrap_err();
        assert!(error.contains("EMPTY"), "{error}");
    }

    #[test]
    fn malformed_references_are_refused() {
        assert!(check_template("Bearer ${TOKEN").is_err());
        assert!(check_template("${1ABC}").is_err());
        assert!(check_template("${}").is_err());
        assert!(check_template("${A-B}").is_err());
        assert!(check_template("plain $ sign").is_ok());
    }

    #[test]
    fn secrets_are_marked_and_never_shown() {
        let env = env(&[("TOKEN", "s3cr3t")]);
        let name = HeaderName::from_static("x-api-key");
        assert!(header_value(&name, "${TOKEN}", &env).unwrap().is_sensitive());
        assert!(!header_value(&name, "plain", &env).unwrap().is_sensitive());
        assert!(header_value(&AUTHORIZATION, "Basic abc", &env).unwrap().is_sensitive());
        assert_eq!(shown(&name, "k-${TOKEN}"), "k-${TOKEN}");
        assert_eq!(shown(&COOKIE, "session=abc"), REDACTED);
        assert_eq!(shown(&name, "visible"), "visible");
    }
}
