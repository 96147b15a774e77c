//! Running the binary while watching its memory (issue #15): the peak resident set size it
//! reached, read from `/proc/<pid>/status` while it runs.
//!
//! Not `wait4`'s `ru_maxrss`: a child started with `vfork`/`posix_spawn` (as std does) reports
//! the test process's own peak when it execs, so a busy test binary would hide the child's.
//! `VmHWM` belongs to the child's own address space and only grows, so polling it often loses
//! at most the last few milliseconds of a run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a measured run may take before the test gives up on it.
const LIMIT: Duration = Duration::from_secs(60);
/// How often `VmHWM` is read.
const POLL: Duration = Duration::from_millis(2);

/// A finished run of the binary and the most memory it held.
pub struct Measured {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// The peak resident set size seen, in bytes.
    pub peak_rss: u64,
    /// From start to exit.
    pub elapsed: Duration,
}

/// Runs `cmd` to its end, its output captured in files under `dir`, watching its memory.
pub async fn run_measured(mut cmd: Command, dir: &Path) -> Measured {
    let (out_path, err_path) = (dir.join("measured.stdout"), dir.join("measured.stderr"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak_rss = 0;
        let status = loop {
            // Read before reaping: a process that has exited has no memory left to report.
            if let Some(hwm) = std::fs::read_to_string(&status_file).ok().as_deref().and_then(vm_hwm) {
                peak_rss = peak_rss.max(hwm);
            }
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("linkkeep did not finish within {LIMIT:?}");
            }
            std::thread::sleep(POLL);
        };
        let elapsed = start.elapsed();
        let stderr = std::fs::read_to_string(&err_path).unwrap();
        Measured {
            code: status
                .code()
                .unwrap_or_else(|| panic!("linkkeep was killed\nstderr:\n{stderr}")),
            stdout: std::fs::read(&out_path).unwrap(),
            stderr,
            peak_rss,
            elapsed,
        }
    })
    .await
    .unwrap()
}

/// The `VmHWM` line of a `/proc/<pid>/status`, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}
