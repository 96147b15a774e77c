//! CSS replayed from the archive: every `url(…)` and `@import` URL of a stylesheet, a `<style>`
//! element or a `style` attribute is pointed into the archive (`/web/<timestamp>/<absolute
//! URL>`), so that fonts, background images and imported stylesheets load from the archive and
//! never from the live web (the capture's Content-Security-Policy would block them anyway).
//!
//! The URLs are found by cssparser's tokenizer (what browsers' CSS parsers agree on: escapes,
//! comments, strings, `url()` with and without quotes), and only their bytes are replaced:
//! everything else stays as it was.

use cssparser::{ParseError, Parser, Token};

/// `css` with every URL `resolve` maps replaced by its result. `resolve` gets each URL as the
/// stylesheet means it (escapes removed) and returns the replacement, or `None` to leave it.
pub fn rewrite(css: &str, resolve: &dyn Fn(&str) -> Option<String>) -> String {
    let mut parser = Parser::new(css);
    let mut edits = Vec::new();
    walk(&mut parser, &mut edits, resolve);
    if edits.is_empty() {
        return css.to_owned();
    }
    edits.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(css.len() + edits.len() * 32);
    let mut at = 0;
    for (start, end, new) in edits {
        if start < at || end > css.len() {
            continue;
        }
        out.push_str(&css[at..start]);
        out.push_str(&new);
        at = end;
    }
    out.push_str(&css[at..]);
    out
}

/// A CSS string token holding `text`.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\a "),
            '\r' => out.push_str("\\d "),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

type Edits = Vec<(usize, usize, String)>;

/// Collects the edits of one block of tokens, and of the blocks nested in it.
fn walk(parser: &mut Parser<'_>, edits: &mut Edits, resolve: &dyn Fn(&str) -> Option<String>) {
    // After `@import`, the next string is a URL (`@import url(…)` is a url token anyway).
    let mut after_import = false;
    loop {
        let start = parser.position().byte_index();
        let token = match parser.next_including_whitespace_and_comments() {
            Ok(token) => token.clone(),
            Err(_) => return,
        };
        let end = parser.position().byte_index();
        let import = matches!(&token, Token::AtKeyword(k) if k.eq_ignore_ascii_case("import"));
        match token {
            Token::WhiteSpace(_) | Token::Comment(_) => continue,
            Token::UnquotedUrl(url) => {
                if let Some(new) = resolve(&url) {
                    edits.push((start, end, format!("url({})", quoted(&new))));
                }
            }
            Token::QuotedString(url) if after_import => {
                if let Some(new) = resolve(&url) {
                    edits.push((start, end, quoted(&new)));
                }
            }
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    url_function(nested, edits, resolve);
                    Ok(())
                });
            }
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    walk(nested, edits, resolve);
                    Ok(())
                });
            }
            _ => {}
        }
        after_import = import;
    }
}

/// The inside of `url( "…" )`: its string, if that is all it holds.
fn url_function(parser: &mut Parser<'_>, edits: &mut Edits, resolve: &dyn Fn(&str) -> Option<String>) {
    loop {
        let start = parser.position().byte_index();
        match parser.next_including_whitespace_and_comments() {
            Ok(Token::WhiteSpace(_) | Token::Comment(_)) => continue,
            Ok(Token::QuotedString(url)) => {
                let url = url.clone();
                let end = parser.position().byte_index();
                if let Some(new) = resolve(&url) {
                    edits.push((start, end, quoted(&new)));
                }
                return;
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(url: &str) -> Option<String> {
        let base = url::Url::parse("http://site.example/css/main.css").unwrap();
        let url = base.join(url.trim()).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| format!("/web/20200101000000/{url}"))
    }

    #[test]
    fn every_kind_of_url_points_into_the_archive() {
        let css = "@import 'print.css' print;\n@import url(\"/base.css\");\n\
                   @font-face { font-family: F; src: url(../fonts/f.woff2) format('woff2'), url( 'f.ttf' ); }\n\
                   body { background: #fff url(http://cdn.example/bg.png) no-repeat; }\n\
                   .x { background-image: image-set(url(a.png) 1x, \"b.png\" 2x); }\n";
        assert_eq!(
            rewrite(css, &archive),
            "@import \"/web/20200101000000/http://site.example/css/print.css\" print;\n\
             @import url(\"/web/20200101000000/http://site.example/base.css\");\n\
             @font-face { font-family: F; src: url(\"/web/20200101000000/http://site.example/fonts/f.woff2\") format('woff2'), url( \"/web/20200101000000/http://site.example/css/f.ttf\" ); }\n\
             body { background: #fff url(\"/web/20200101000000/http://cdn.example/bg.png\") no-repeat; }\n\
             .x { background-image: image-set(url(\"/web/20200101000000/http://site.example/css/a.png\") 1x, \"b.png\" 2x); }\n"
        );
    }

    /// Comments, strings that are not URLs, escapes and other schemes stay as they were.
    #[test]
    fn everything_else_stays_byte_for_byte() {
        for css in [
            "/* url(a.png) */ a::after { content: \"url(b.png)\"; }",
            "a { background: url(data:image/png;base64,AAAA); mask: url(#m); }",
            "p{color:red}",
            "@media print { @import 'x.css'; }",
        ] {
            let out = rewrite(css, &|u: &str| {
                (!u.starts_with("data:") && !u.starts_with('#') && !u.contains("x.css")).then(|| "CHANGED".to_owned())
            });
            assert_eq!(out, css, "{css}");
        }
    }

    #[test]
    fn escaped_urls_are_unescaped_before_and_escaped_after() {
        let css = r#"a { background: url("a\"b.png"); } b { background: url(c\)d.png) }"#;
        let out = rewrite(css, &|u: &str| Some(format!("/web/1/{u}")));
        assert_eq!(
            out,
            r#"a { background: url("/web/1/a\"b.png"); } b { background: url("/web/1/c)d.png") }"#
        );
    }
}
