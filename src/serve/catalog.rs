//! What the server knows about the archive: the manifest, an index from every known form of each
//! link's URL to the link, and links.json's titles and publishers, reloaded when the files change.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::links::LinksFile;
use crate::manifest::{LinkEntry, MANIFEST_FILE, Manifest};

use super::Archive;

/// The archive as last read from disk, with lookups by URL.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The manifest (empty when the archive has none yet).
    pub manifest: Manifest,
    /// URL (as written, normalized, or as finally served) to link id.
    by_url: HashMap<String, String>,
    /// links.json metadata by link id.
    meta: HashMap<String, LinkMeta>,
}

/// What links.json says about a link, beyond its URL.
#[derive(Debug, Default, Clone)]
pub struct LinkMeta {
    /// The cited document's title.
    pub title: Option<String>,
    /// Who published it.
    pub publisher: Option<String>,
}

impl Catalog {
    /// Indexes `manifest`, with metadata from `links` when there is a valid links.json.
    pub fn new(manifest: Manifest, links: Option<LinksFile>) -> Self {
        let mut by_url = HashMap::new();
        // Earlier passes win: a URL as written beats a normalized form, which beats a URL some
        // other link was redirected to.
        for (id, entry) in &manifest.links {
            by_url.entry(entry.url.clone()).or_insert_with(|| id.clone());
        }
        for (id, entry) in &manifest.links {
            if let Some(normalized) = normalize(&entry.url) {
                by_url.entry(normalized).or_insert_with(|| id.clone());
            }
        }
        for (id, entry) in &manifest.links {
            for snapshot in &entry.snapshots {
                by_url.entry(snapshot.final_url.clone()).or_insert_with(|| id.clone());
                if let Some(normalized) = normalize(&snapshot.final_url) {
                    by_url.entry(normalized).or_insert_with(|| id.clone());
                }
            }
        }
        let meta = links
            .map(|file| {
                file.links
                    .into_iter()
                    .map(|link| {
                        let meta = LinkMeta {
                            title: link.title,
                            publisher: link.publisher,
                        };
                        (link.id, meta)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { manifest, by_url, meta }
    }

    /// The link an original URL names: its URL as written, its normalized form, or the final URL
    /// of one of its captures.
    pub fn lookup(&self, url: &str) -> Option<(&str, &LinkEntry)> {
        let id = self
            .by_url
            .get(url)
            .or_else(|| normalize(url).and_then(|n| self.by_url.get(&n)))?;
        self.manifest.links.get_key_value(id).map(|(id, e)| (id.as_str(), e))
    }

    /// The URL as written in the manifest of the archived link `url` names, when it has captures.
    pub fn archived(&self, url: &str) -> Option<&str> {
        self.lookup(url)
            .filter(|(_, entry)| !entry.snapshots.is_empty())
            .map(|(_, entry)| entry.url.as_str())
    }

    /// links.json's metadata for link `id`.
    pub fn meta(&self, id: &str) -> LinkMeta {
        self.meta.get(id).cloned().unwrap_or_default()
    }
}

/// The `url` crate's normalized form of `url`, if it parses.
fn normalize(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(String::from)
}

/// Enough of a file's metadata to notice that it changed: the manifest is replaced by a rename,
/// so the inode changes even when the modification time lands in the same clock tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    /// The file's stamp, or `None` when there is no such file.
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

/// The current [`Catalog`], reloaded when the manifest or links.json changes.
#[derive(Debug)]
pub struct Catalogs {
    archive: Archive,
    cached: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    stamps: (Option<Stamp>, Option<Stamp>),
    catalog: Arc<Catalog>,
}

impl Catalogs {
    /// Catalogs of `archive`, read on first use.
    pub fn new(archive: Archive) -> Self {
        Self {
            archive,
            cached: Mutex::new(None),
        }
    }

    /// The archive directory, which payloads are read from.
    pub fn root(&self) -> &Path {
        &self.archive.root
    }

    /// The catalog as the files are now, or why the manifest cannot be read.
    pub async fn current(self: &Arc<Self>) -> Result<Arc<Catalog>, String> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.current_blocking())
            .await
            .map_err(|e| e.to_string())?
    }

    fn current_blocking(&self) -> Result<Arc<Catalog>, String> {
        let manifest_path = self.archive.root.join(MANIFEST_FILE);
        let stamps = (
            Stamp::of(&manifest_path),
            self.archive.links_file.as_deref().and_then(Stamp::of),
        );
        // Held only for these quick checks; the std Mutex is never held across an await.
        if let Some(cached) = &*self.cached.lock().expect("not poisoned")
            && cached.stamps == stamps
        {
            return Ok(Arc::clone(&cached.catalog));
        }
        let manifest = Manifest::load(&self.archive.root).map_err(|e| format!("{e:#}"))?;
        let links = match (&self.archive.links_file, stamps.1) {
            (Some(path), Some(_)) => crate::links::load(path)
                .inspect_err(|e| tracing::warn!("serve: ignoring {}: {e:#}", path.display()))
                .ok(),
            _ => None,
        };
        let catalog = Arc::new(Catalog::new(manifest, links));
        *self.cached.lock().expect("not poisoned") = Some(Cached {
            stamps,
            catalog: Arc::clone(&catalog),
        });
        Ok(catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        serde_json::json!({"schema_version": 1, "links": {
            "a": {"url": "HTTP://Example.org/a%20b?x=1", "snapshots": [{
                "sha256": "a".repeat(64), "size": 1, "content_type": "text/html",
                "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z",
                "http_status": 200, "final_url": "http://example.org/moved", "etag": null,
                "last_modified": null, "title": null, "object": "x", "run": "r"}]},
            "never": {"url": "http://example.org/never", "snapshots": []}
        }})
        .to_string()
        .parse()
        .unwrap()
    }

    #[test]
    fn urls_match_as_written_normalized_and_as_finally_served() {
        let catalog = Catalog::new(manifest(), None);
        for url in [
            "HTTP://Example.org/a%20b?x=1",
            "http://example.org/a%20b?x=1",
            "http://example.org/moved",
        ] {
            assert_eq!(catalog.lookup(url).map(|(id, _)| id), Some("a"), "{url}");
        }
        assert_eq!(
            catalog.lookup("http://example.org/a b?x=1").map(|(id, _)| id),
            Some("a")
        );
        assert!(catalog.lookup("http://example.org/a%20b").is_none());
        assert_eq!(
            catalog.archived("http://example.org/moved"),
            Some("HTTP://Example.org/a%20b?x=1")
        );
        // Known, but with nothing captured: nothing to point a link at.
        assert!(catalog.lookup("http://example.org/never").is_some());
        assert_eq!(catalog.archived("http://example.org/never"), None);
    }
}
