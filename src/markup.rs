//! Escaping text into HTML and XML, and decoding the character references found in them:
//! one implementation for the reports, the replay server and title extraction.

/// Escapes text for HTML or XML content and attribute values. Characters XML 1.0 cannot carry,
/// even as character references (C0 controls other than tab and line breaks, and the
/// noncharacters U+FFFE and U+FFFF), are dropped, so the output is always well formed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Decodes the five XML entities and numeric character references (`&#50;`, `&#x33;`). Anything
/// else, such as an unknown name or a bare `&`, is kept as written, as browsers do.
pub fn decode_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match decode_one(rest) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference at the start of `text` stands for, and the reference's length.
fn decode_one(text: &str) -> Option<(char, usize)> {
    // Longer than any reference we decode: stop looking for the `;` there.
    const MAX_REFERENCE: usize = 10;
    let end = text.find(';').filter(|&end| end <= MAX_REFERENCE)?;
    let name = &text[1..end];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

/// `text` with every character `encode` picks written as the percent-encoded bytes of its
/// UTF-8 form (RFC 3986), for URLs put into a syntax where those characters mean something.
pub fn percent_encode(text: &str, encode: impl Fn(char) -> bool) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if encode(c) {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            escape("a <b> & \"c\" 'd'\u{1}\u{fffe}\u{ffff}"),
            "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;"
        );
    }

    #[test]
    fn decodes_references_and_keeps_the_rest() {
        assert_eq!(decode_entities("a?x=1&amp;y=&#50;&#x33;&zz;&"), "a?x=1&y=23&zz;&");
        assert_eq!(decode_entities("&lt;&gt;&quot;&apos;"), "<>\"'");
        assert_eq!(decode_entities(&escape("x & <y>")), "x & <y>");
    }
}
