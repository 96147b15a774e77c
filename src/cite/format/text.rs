//! Citations as plain text, a block of lines per link, blocks separated by a blank line:
//!
//! ```text
//! [1] Title
//!     Publisher
//!     https://…
//!     Cited version: 2018-03-01T10:00:00Z, SHA-256 …
//!     Archived: this archive, 2018-03-01: http://…
//!     Archived: Wayback Machine, 2018-03-02: https://…
//!     Live URL: dead
//! ```
//!
//! Everything from outside is shown with [`terminal_safe`]: no control character or
//! bidirectional override reaches the terminal.

use std::fmt::Write;

use crate::cite::{Citation, date, datetime};
use crate::report::terminal_safe;

/// Renders the blocks.
pub fn render(citations: &[Citation]) -> String {
    let mut out = String::new();
    for (n, citation) in citations.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "[{}] {}", n + 1, terminal_safe(&citation.title));
        let _ = writeln!(out, "    {}", terminal_safe(&citation.publisher));
        let _ = writeln!(out, "    {}", terminal_safe(&citation.url));
        match &citation.version {
            Some(version) => {
                let _ = writeln!(
                    out,
                    "    Cited version: {}, SHA-256 {}",
                    datetime(version.captured),
                    terminal_safe(&version.sha256)
                );
                for copy in &version.copies {
                    let when = copy.captured.map(|t| format!(", {}", date(t))).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    Archived: {}{when}: {}",
                        terminal_safe(copy.holder.label()),
                        terminal_safe(&copy.url)
                    );
                }
            }
            None => out.push_str("    Not archived.\n"),
        }
        if let Some(status) = citation.status {
            let _ = writeln!(out, "    Live URL: {}", status.as_str());
        }
    }
    out
}
