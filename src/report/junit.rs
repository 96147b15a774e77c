//! The JUnit XML report: one `<testcase>` per link, so CI systems show broken links as failed
//! tests. Excluded links are `<skipped>`.

use std::fmt::Write;

use super::{Report, public_copy};
use crate::markup::escape as xml;
use crate::outcome::Outcome;

/// Renders the XML document.
pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let time = format!("{:.3}", report.duration_secs());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"linkkeep\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time}\">",
        s.total, s.failed, s.excluded
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"linkkeep {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time}\" timestamp=\"{}\">",
        xml(&report.command),
        s.total,
        s.failed,
        s.excluded,
        xml(&report.started_at)
    );
    if let Some(shard) = report.shard {
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"shard\" value=\"{shard}\"/>\n    </properties>"
        );
    }
    for r in &report.results {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"linkkeep.{}\" time=\"{:.3}\"",
            xml(&r.id),
            xml(&report.command),
            r.elapsed_ms as f64 / 1000.0
        );
        let error = r.error.as_deref().unwrap_or_default();
        match r.outcome {
            Outcome::Ok => out.push_str("/>\n"),
            Outcome::Excluded => {
                let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>", xml(error));
            }
            outcome => {
                let status = r.http_status.map(|s| format!("HTTP status: {s}\n")).unwrap_or_default();
                let copy = public_copy(r)
                    .map(|(url, day)| format!("\nPublic copy: {url} ({day})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{outcome}\">URL: {}\n{status}{}{}</failure>\n    </testcase>",
                    xml(&format!("{outcome}: {error}")),
                    xml(&r.url),
                    xml(error),
                    xml(&copy)
                );
            }
        }
    }
    if !report.warnings.is_empty() {
        let warnings: Vec<String> = report.warnings.iter().map(|w| xml(&format!("warning: {w}"))).collect();
        let _ = writeln!(out, "    <system-err>{}</system-err>", warnings.join("\n"));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use crate::config::Format;

    #[test]
    fn escapes_and_counts() {
        let text = crate::report::tests::sample().render(Format::Junit, false);
        assert!(
            text.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{text}"
        );
        assert!(text.contains("name=\"broken | &lt;link&gt; &amp; co\""), "{text}");
        assert!(
            text.contains("<failure message=\"network_error: tcp connect error"),
            "{text}"
        );
        assert!(
            text.contains("<skipped message=\"matches --exclude c.example\"/>"),
            "{text}"
        );
        assert_eq!(text.matches("<testcase ").count(), 3);
    }

    #[test]
    fn a_failure_names_its_public_copy() {
        let text = crate::report::tests::sample_with_public_copy().render(Format::Junit, false);
        assert!(
            text.contains(
                "(os error 111)\nPublic copy: https://web.archive.org/web/20180302040506/http://b.example/x?a=1&amp;b=2 \
                 (2018-03-02)</failure>"
            ),
            "{text}"
        );
    }

    /// Whether XML 1.0 allows `c` in a document at all.
    fn xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    }

    #[test]
    fn remote_text_stays_exact_and_the_document_well_formed() {
        let mut report = crate::report::tests::sample();
        let hostile = "a\x1b]0;pwned\x07 \u{9b}2J \u{202e}txt \u{fffe}\u{ffff} ]]> <x> & \"q\"";
        report.results[1].id = hostile.into();
        report.results[1].url = format!("http://b.example/{hostile}");
        report.results[1].error = Some(hostile.into());
        let text = report.render(Format::Junit, false);
        assert!(text.chars().all(xml_char), "{text:?}");
        // Parsed back, every value is the text as received, less what XML 1.0 cannot hold.
        let kept = "a]0;pwned \u{9b}2J \u{202e}txt  ]]> <x> & \"q\"";
        let mut reader = quick_xml::Reader::from_str(&text);
        reader.config_mut().check_end_names = true;
        let (mut names, mut bodies) = (Vec::new(), String::new());
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    for attr in e.attributes() {
                        let attr = attr.unwrap();
                        names.push(attr.unescape_value().unwrap().into_owned());
                    }
                }
                quick_xml::events::Event::Text(t) => bodies.push_str(&t.decode().unwrap()),
                quick_xml::events::Event::GeneralRef(r) => {
                    let reference = format!("&{};", r.decode().unwrap());
                    bodies.push_str(&quick_xml::escape::unescape(&reference).unwrap());
                }
                _ => {}
            }
        }
        assert!(names.iter().any(|n| n == kept), "{names:?}");
        assert!(
            names.iter().any(|n| n == &format!("network_error: {kept}")),
            "{names:?}"
        );
        assert!(bodies.contains(&format!("URL: http://b.example/{kept}")), "{bodies:?}");
    }
}
