//! What the server knows about the archive: the manifest, an index from every known form of each
//! link's URL to the link, and links.json's titles and publishers, reloaded when the files change.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// links.json's links by id, for citations.
    listed: HashMap<String, crate::links::Link>,
    /// links.json's `source`: the citing document, as written.
    pub source: Option<serde_json::Value>,
    /// The index's view of every link, made on first use (issue #20).
    story: std::sync::OnceLock<super::story::Story>,
}

/// What links.json says about a link, beyond its URL.
#[derive(Debug, Default, Clone)]
pub struct LinkMeta {
    /// The cited document's title.
    pub title: Option<String>,
    /// Who published it.
    pub publisher: Option<String>,
    /// Where and why it is cited.
    pub note: Option<String>,
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
        let source = links.as_ref().and_then(|file| file.source.clone());
        let listed: HashMap<String, crate::links::Link> = links
            .map(|file| file.links.into_iter().map(|link| (link.id.clone(), link)).collect())
            .unwrap_or_default();
        let meta = listed
            .iter()
            .map(|(id, link)| {
                let meta = LinkMeta {
                    title: link.title.clone(),
                    publisher: link.publisher.clone(),
                    note: link.note.clone(),
                };
                (id.clone(), meta)
            })
            .collect();
        Self {
            manifest,
            by_url,
            meta,
            listed,
            source,
            story: std::sync::OnceLock::new(),
        }
    }

    /// links.json's link `id`, when links.json lists it.
    pub fn listed(&self, id: &str) -> Option<&crate::links::Link> {
        self.listed.get(id)
    }

    /// The index's view of every link: made once per catalog, on first use.
    pub fn story(&self) -> &super::story::Story {
        self.story.get_or_init(|| super::story::Story::new(self))
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
    /// A parsed URL's serialization is its normalized form, which the catalog indexes for every
    /// link: no second parse (replayed pages look up every link they hold).
    pub fn archived_url(&self, url: &url::Url) -> Option<&str> {
        let id = self.by_url.get(url.as_str())?;
        let entry = self.manifest.links.get(id)?;
        (!entry.snapshots.is_empty()).then_some(entry.url.as_str())
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

/// The current [`Catalog`], reloaded when the manifest or links.json changes. However many
/// requests notice a change at once, one of them re-reads the files while the others wait for its
/// catalog: a burst of requests after an `archive` run costs one reload, not one each.
#[derive(Debug)]
pub struct Catalogs {
    archive: Archive,
    /// The catalog last read and the stamps of the files it was read from. The std Mutex is held
    /// only to look or to swap, never across an await or a reload.
    cached: Mutex<Option<Cached>>,
    /// Held by the one request that reloads.
    reloading: tokio::sync::Mutex<()>,
    /// How many times the files were read, for the log and the tests.
    reloads: AtomicU64,
    /// Requests waiting for a reload or doing it, for the tests.
    waiting: AtomicUsize,
}

#[derive(Debug)]
struct Cached {
    stamps: Stamps,
    catalog: Arc<Catalog>,
}

/// The stamps of the manifest and of links.json.
type Stamps = (Option<Stamp>, Option<Stamp>);

impl Catalogs {
    /// Catalogs of `archive`, read on first use.
    pub fn new(archive: Archive) -> Self {
        Self {
            archive,
            cached: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
            reloads: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The archive directory, which payloads are read from.
    pub fn root(&self) -> &Path {
        &self.archive.root
    }

    /// The catalog as the files are now, or why the manifest cannot be read.
    pub async fn current(self: &Arc<Self>) -> Result<Arc<Catalog>, String> {
        if let Some(catalog) = self.unchanged().await? {
            return Ok(catalog);
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.reloading.lock().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // Whoever held the lock before may have read the files as they are now.
        if let Some(catalog) = self.unchanged().await? {
            return Ok(catalog);
        }
        let this = Arc::clone(self);
        let catalog = tokio::task::spawn_blocking(move || this.reload())
            .await
            .map_err(|e| e.to_string())?;
        drop(guard);
        catalog
    }

    /// The cached catalog if the files have not changed since it was read.
    async fn unchanged(self: &Arc<Self>) -> Result<Option<Arc<Catalog>>, String> {
        let this = Arc::clone(self);
        let stamps = tokio::task::spawn_blocking(move || this.stamps())
            .await
            .map_err(|e| e.to_string())?;
        let cached = self.cached.lock().expect("not poisoned");
        Ok(cached
            .as_ref()
            .filter(|cached| cached.stamps == stamps)
            .map(|cached| Arc::clone(&cached.catalog)))
    }

    fn stamps(&self) -> Stamps {
        (
            Stamp::of(&self.archive.root.join(MANIFEST_FILE)),
            self.archive.links_file.as_deref().and_then(Stamp::of),
        )
    }

    /// Reads the files. Blocking. The stamps are taken before reading, so a change during the
    /// read shows as a change at the next request.
    fn reload(&self) -> Result<Arc<Catalog>, String> {
        let stamps = self.stamps();
        let manifest = Manifest::load(&self.archive.root).map_err(|e| format!("{e:#}"))?;
        let links = match (&self.archive.links_file, stamps.1) {
            (Some(path), Some(_)) => crate::links::load(path)
                .inspect_err(|e| tracing::warn!("serve: ignoring {}: {e:#}", path.display()))
                .ok(),
            _ => None,
        };
        let catalog = Arc::new(Catalog::new(manifest, links));
        let count = self.reloads.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::debug!("serve: read the manifest ({count} times so far)");
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
        let archived = |url: &str| catalog.archived_url(&url::Url::parse(url).unwrap());
        for url in ["HTTP://Example.org/a%20b?x=1", "http://example.org/moved"] {
            assert_eq!(archived(url), Some("HTTP://Example.org/a%20b?x=1"), "{url}");
        }
        // Known, but with nothing captured: nothing to point a link at.
        assert!(catalog.lookup("http://example.org/never").is_some());
        assert_eq!(archived("http://example.org/never"), None);
        assert_eq!(archived("http://example.org/other"), None);
    }

    /// Issue #15: a hundred requests that all notice a new manifest cost one reload.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_share_one_reload() {
        let dir = tempfile::tempdir().unwrap();
        let write = |manifest: &Manifest| manifest.save(dir.path()).unwrap();
        write(&manifest());
        let catalogs = Arc::new(Catalogs::new(Archive::new(dir.path(), None)));
        assert!(
            catalogs
                .current()
                .await
                .unwrap()
                .lookup("http://example.org/moved")
                .is_some()
        );
        assert_eq!(catalogs.reloads.load(Ordering::SeqCst), 1);

        // The manifest changes while a reload is under way (the lock held here stands for it):
        // every request notices, and all of them queue behind that one reload.
        let mut changed = manifest();
        changed.links.shift_remove("never");
        let held = catalogs.reloading.lock().await;
        write(&changed);
        let requests: Vec<_> = (0..100)
            .map(|_| {
                let catalogs = Arc::clone(&catalogs);
                tokio::spawn(async move { catalogs.current().await.unwrap() })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while catalogs.waiting.load(Ordering::SeqCst) < 100 {
            assert!(std::time::Instant::now() < deadline, "the requests never queued");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(held);
        for request in requests {
            assert!(request.await.unwrap().lookup("http://example.org/never").is_none());
        }
        assert_eq!(
            catalogs.reloads.load(Ordering::SeqCst),
            2,
            "one reload for a hundred requests"
        );

        // Unchanged files: no reload at all.
        catalogs.current().await.unwrap();
        assert_eq!(catalogs.reloads.load(Ordering::SeqCst), 2);
    }
}
