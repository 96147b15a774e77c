//! The JUnit XML report: one `<testcase>` per link, so CI systems show broken links as failed
//! tests. Excluded links are `<skipped>`.

use std::fmt::Write;

use super::Report;
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
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{outcome}\">URL: {}\n{status}{}</failure>\n    </testcase>",
                    xml(&format!("{outcome}: {error}")),
                    xml(&r.url),
                    xml(error)
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
}
