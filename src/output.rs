//! Writing files the user names (`-o`, `--wacz`, `--write`): atomically when the destination is
//! a regular file (a temporary file beside it, fsync, rename), so that nobody ever reads half a
//! file; straight through when it is a device, a FIFO or a socket (`-o /dev/null`,
//! `-o /dev/stdout`), which a rename would replace with a regular file.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Writes `path` with `fill`, atomically where the destination allows it.
pub fn write_output(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        fill(&mut file)?;
        return file.flush();
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `text` to `path`, as [`write_output`] does.
pub fn write_text(path: &Path, text: &str) -> io::Result<()> {
    write_output(path, |file| file.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;
    use std::time::Duration;

    use super::*;

    #[test]
    fn regular_files_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        write_text(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    /// Guards against `-o /dev/null` turning /dev/null into a regular file (found by the
    /// benchmarks, issue #7): a FIFO stands in for the device.
    #[test]
    fn devices_and_fifos_are_written_through_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path and a mode; mkfifo touches nothing else.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let reader_path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(std::fs::read_to_string(reader_path));
        });
        write_text(&fifo, "report").unwrap();
        let read = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the FIFO was never written");
        assert_eq!(read.unwrap(), "report");
        assert!(
            std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
            "the FIFO was replaced"
        );
    }
}
