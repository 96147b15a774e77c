//! URLs in a document's text that name things rather than cite them: XML namespace names,
//! schema locations and DTD system identifiers. A specification that shows
//! `<html xmlns="http://www.w3.org/1999/xhtml">` does not cite that URL, and nobody checking the
//! document's references wants it listed. `extract` leaves them out unless `--all` is given.
//!
//! Only URLs found in running text or code are judged; an explicit hyperlink (`<a href>`, a
//! Markdown link, a PDF link annotation) is followed by readers and always listed. The rules,
//! in order:
//! 1. the URL is the value of a namespace or schema attribute written in the text:
//!    `xmlns="…"`, `xmlns:p="…"`, `targetNamespace="…"`, `xsi:schemaLocation="… …"`,
//!    `xsi:noNamespaceSchemaLocation="…"`;
//! 2. it stands in a `<!DOCTYPE …>` declaration (a DTD's system identifier);
//! 3. the words just before it name it a namespace: "the namespace http://…", "namespace URI is
//!    http://…", "namespace name: http://…";
//! 4. it is one of the well-known namespace names of W3C and other vocabularies (`KNOWN`,
//!    `KNOWN_PREFIXES`), or its path ends in `.dtd` or `.xsd`.

/// Namespace names that are never references in themselves.
const KNOWN: &[&str] = &[
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/2001/XMLSchema",
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/1999/XSL/Transform",
    "http://www.w3.org/1999/XSL/Format",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2005/Atom",
    "http://www.w3.org/2000/09/xmldsig#",
    "http://www.w3.org/2001/04/xmlenc#",
    "http://www.w3.org/2001/xml-events",
    "http://www.w3.org/2004/02/skos/core#",
    "http://purl.org/dc/elements/1.1/",
    "http://purl.org/dc/terms/",
    "http://xmlns.com/foaf/0.1/",
    "http://docbook.org/ns/docbook",
    "http://relaxng.org/ns/structure/1.0",
    "http://www.idpf.org/2007/opf",
    "http://www.daisy.org/z3986/2005/ncx/",
];

/// Hosts and paths under which every URL is a namespace name.
const KNOWN_PREFIXES: &[&str] = &[
    "http://ns.adobe.com/",
    "http://schemas.xmlsoap.org/",
    "http://schemas.openxmlformats.org/",
    "http://schemas.microsoft.com/",
    "http://schemas.android.com/",
];

/// Attributes whose values are namespace names or schema locations.
fn is_identifier_attribute(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let local = name.rsplit(':').next().unwrap_or(&name);
    name == "xmlns"
        || name.starts_with("xmlns:")
        || matches!(
            local,
            "schemalocation" | "nonamespaceschemalocation" | "targetnamespace"
        )
}

/// What `url` is when it is an identifier rather than a citation, judging by the URL and by
/// `before`, the text just before it (on its line or in its paragraph).
pub fn identifier(url: &str, before: &str) -> Option<&'static str> {
    if in_identifier_attribute(before) {
        return Some("an XML namespace or schema attribute");
    }
    if in_doctype(before) {
        return Some("a DTD identifier");
    }
    if named_a_namespace(before) {
        return Some("an XML namespace name");
    }
    let bare = url.trim_end_matches('/');
    let known = KNOWN.iter().any(|k| k.trim_end_matches('/').eq_ignore_ascii_case(bare))
        || KNOWN_PREFIXES
            .iter()
            .any(|p| url.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)));
    if known {
        return Some("a well-known XML namespace name");
    }
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    if path.ends_with(".dtd") || path.ends_with(".xsd") {
        return Some("a DTD or schema location");
    }
    None
}

const QUOTES: &[char] = &['"', '\'', '‘', '’', '“', '”'];

/// Whether `before` ends inside the quoted value of a namespace or schema attribute: the last
/// `=` is followed by an opening quote that is not closed again.
fn in_identifier_attribute(before: &str) -> bool {
    let Some(eq) = before.rfind('=') else { return false };
    let value = before[eq + 1..].trim_start();
    let Some(quote) = value.chars().next().filter(|c| QUOTES.contains(c)) else {
        return false;
    };
    let closing: &[char] = match quote {
        '‘' | '’' => &['’', '‘'],
        '“' | '”' => &['”', '“'],
        '"' => &['"'],
        _ => &['\''],
    };
    if value[quote.len_utf8()..].contains(closing) {
        return false;
    }
    let name_end = before[..eq].trim_end();
    let name_start = name_end
        .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')))
        .map_or(0, |i| i + name_end[i..].chars().next().map_or(1, char::len_utf8));
    is_identifier_attribute(&name_end[name_start..])
}

/// Whether `before` ends inside an unclosed `<!DOCTYPE`.
fn in_doctype(before: &str) -> bool {
    let lower = before.to_ascii_lowercase();
    lower.rfind("<!doctype").is_some_and(|at| !lower[at..].contains('>'))
}

/// Whether the words just before the URL call it a namespace: "namespace", optionally followed
/// by "URI", "IRI", "URL" or "name", then optionally "is", ":" or "=".
fn named_a_namespace(before: &str) -> bool {
    let mut words: Vec<String> = before
        .split_whitespace()
        .rev()
        .take(4)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    words.reverse();
    let mut tail = words.as_slice();
    if let [rest @ .., last] = tail
        && matches!(last.as_str(), "is" | "of")
    {
        tail = rest;
    }
    if let [rest @ .., last] = tail
        && matches!(last.as_str(), "uri" | "iri" | "url" | "name")
    {
        tail = rest;
    }
    tail.last().is_some_and(|w| w == "namespace")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_and_schema_attributes_are_identifiers() {
        let url = "http://www.freedesktop.org/standards/shared-mime-info";
        for before in [
            "<mime-info xmlns='",
            "<mime-info xmlns=\u{2019}",
            "<mime-type xmlns=\"",
            "<x:a xmlns:x = \"",
            "<schema targetNamespace=\"",
            "<a xsi:schemaLocation=\"http://ns.example/a ",
            "<a xsi:noNamespaceSchemaLocation=\"",
        ] {
            assert!(identifier(url, before).is_some(), "{before:?}");
        }
        for before in ["<a href=\"", "<a xmlns=\"x\" href=\"", "see ", "value = \"", ""] {
            assert_eq!(identifier(url, before), None, "{before:?}");
        }
    }

    #[test]
    fn doctype_identifiers_are_identifiers() {
        let before = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"";
        assert!(identifier("http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd", before).is_some());
        assert!(identifier("http://a.example/page", "<!DOCTYPE html> see ").is_none());
    }

    #[test]
    fn prose_that_names_a_namespace_makes_an_identifier() {
        let url = "http://www.freedesktop.org/standards/shared-mime-info";
        for before in [
            "whose namespace URI is ",
            "in the namespace ",
            "Namespace name: ",
            "the namespace IRI of ",
        ] {
            assert!(identifier(url, before).is_some(), "{before:?}");
        }
        for before in [
            "For namespaces, see ",
            "the namespace declaration is explained at ",
            "namespace URIs are described in ",
        ] {
            assert_eq!(identifier(url, before), None, "{before:?}");
        }
    }

    #[test]
    fn well_known_namespaces_and_schema_files_are_identifiers() {
        for url in [
            "http://www.w3.org/1999/xhtml",
            "http://www.w3.org/2000/svg/",
            "HTTP://WWW.W3.ORG/1999/XLINK",
            "http://ns.adobe.com/xap/1.0/",
            "http://a.example/schemas/config.xsd",
            "http://a.example/dtd/book.DTD?v=2",
        ] {
            assert!(identifier(url, "For example: ").is_some(), "{url}");
        }
        for url in [
            "http://www.w3.org/TR/xml-names/",
            "http://www.w3.org/1999/xhtml/vocab",
            "https://www.w3.org/TR/xhtml1/",
        ] {
            assert_eq!(identifier(url, "See "), None, "{url}");
        }
    }
}
