//! The URLs of CSS: every `url(…)`, `@import` and `image-set()` URL of a stylesheet, a `<style>`
//! element or a `style` attribute, found by cssparser's tokenizer (what browsers' CSS parsers
//! agree on: escapes, comments, strings, `url()` with and without quotes), with where each is.
//! One reading serves both jobs (issue #20): `archive` fetches what they name (a page's
//! requisites), and `serve` points them into the archive, replacing only their bytes so that
//! everything else stays as it was (the capture's Content-Security-Policy would block a live
//! URL anyway).

use cssparser::{ParseError, Parser, Token};

/// What a URL of a stylesheet is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// An `@import`ed stylesheet.
    Import,
    /// Anything else it loads: a font, an image.
    Load,
}

/// One URL of a stylesheet: as the stylesheet means it (escapes removed), what for, and the
/// bytes that say it (`start..end`), which [`rewrite`] replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssUrl {
    pub url: String,
    pub purpose: Use,
    start: usize,
    end: usize,
    /// The bytes are an unquoted `url(…)` token, replaced with a whole `url("…")`; otherwise a
    /// string, replaced with a string.
    token: bool,
}

/// Every URL of `css`, in order.
pub fn urls(css: &str) -> Vec<CssUrl> {
    let mut parser = Parser::new(css);
    let mut found = Vec::new();
    walk(&mut parser, &mut found);
    found
}

/// `css` with every URL `resolve` maps replaced by its result. `resolve` gets each URL as the
/// stylesheet means it (escapes removed) and returns the replacement, or `None` to leave it.
pub fn rewrite(css: &str, resolve: &dyn Fn(&str) -> Option<String>) -> String {
    let mut edits: Vec<(usize, usize, String)> = urls(css)
        .into_iter()
        .filter_map(|found| {
            let new = resolve(&found.url)?;
            let new = if found.token {
                format!("url({})", quoted(&new))
            } else {
                quoted(&new)
            };
            Some((found.start, found.end, new))
        })
        .collect();
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

/// Collects the URLs of one block of tokens, and of the blocks nested in it.
fn walk(parser: &mut Parser<'_>, found: &mut Vec<CssUrl>) {
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
        let purpose = if after_import { Use::Import } else { Use::Load };
        match token {
            Token::WhiteSpace(_) | Token::Comment(_) => continue,
            Token::UnquotedUrl(url) => found.push(CssUrl {
                url: url.to_string(),
                purpose,
                start,
                end,
                token: true,
            }),
            Token::QuotedString(url) if after_import => found.push(CssUrl {
                url: url.to_string(),
                purpose,
                start,
                end,
                token: false,
            }),
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    url_function(nested, found, purpose);
                    Ok(())
                });
            }
            // `image-set("a.png" 1x, url(b.png) 2x)`: its strings are URLs too.
            Token::Function(name)
                if name.eq_ignore_ascii_case("image-set") || name.eq_ignore_ascii_case("-webkit-image-set") =>
            {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    image_set(nested, found);
                    Ok(())
                });
            }
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    walk(nested, found);
                    Ok(())
                });
            }
            _ => {}
        }
        after_import = import;
    }
}

/// The inside of `url( "…" )`: its string, if that is all it holds.
fn url_function(parser: &mut Parser<'_>, found: &mut Vec<CssUrl>, purpose: Use) {
    loop {
        let start = parser.position().byte_index();
        match parser.next_including_whitespace_and_comments() {
            Ok(Token::WhiteSpace(_) | Token::Comment(_)) => continue,
            Ok(Token::QuotedString(url)) => {
                let url = url.to_string();
                let end = parser.position().byte_index();
                found.push(CssUrl {
                    url,
                    purpose,
                    start,
                    end,
                    token: false,
                });
                return;
            }
            _ => return,
        }
    }
}

/// The inside of `image-set(…)`: its strings, and its `url()`s.
fn image_set(parser: &mut Parser<'_>, found: &mut Vec<CssUrl>) {
    loop {
        let start = parser.position().byte_index();
        let token = match parser.next_including_whitespace_and_comments() {
            Ok(token) => token.clone(),
            Err(_) => return,
        };
        let end = parser.position().byte_index();
        match token {
            Token::QuotedString(url) => found.push(CssUrl {
                url: url.to_string(),
                purpose: Use::Load,
                start,
                end,
                token: false,
            }),
            Token::UnquotedUrl(url) => found.push(CssUrl {
                url: url.to_string(),
                purpose: Use::Load,
                start,
                end,
                token: true,
            }),
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let _ = parser.parse_nested_block(|nested| -> Result<(), ParseError<()>> {
                    url_function(nested, found, Use::Load);
                    Ok(())
                });
            }
            _ => {}
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
             .x { background-image: image-set(url(\"/web/20200101000000/http://site.example/css/a.png\") 1x, \"/web/20200101000000/http://site.example/css/b.png\" 2x); }\n"
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
