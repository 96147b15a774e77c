//! The terminal progress bar: one bar per run with done/total, failures so far and the rate.
//! Hidden (and free) when stderr is not a terminal, under `CI`, or with `--quiet`/`--no-progress`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A run's progress bar.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    failed: AtomicU64,
}

impl Progress {
    /// A bar over `total` links labelled `verb` (e.g. "checking"); hidden unless `enabled`.
    pub fn new(enabled: bool, total: usize, verb: &str) -> Self {
        let bar = if enabled {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner:.green} {prefix} [{bar:30.cyan/blue}] {pos}/{len} · {msg} · {per_sec} · {elapsed}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(verb.to_owned());
            bar.set_message("0 failed");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            failed: AtomicU64::new(0),
        }
    }

    /// Counts one finished link.
    pub fn link_done(&self, failed: bool) {
        if failed {
            let n = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{n} failed"));
        }
        self.bar.inc(1);
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
