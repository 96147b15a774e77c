//! The manifest as `archive` updates it (issue #7: load and save a 100,000-link manifest in
//! under a second).
//!
//! A run reads in full only the entries of the links it archives. Every other entry stays the
//! text it was read as, checked to be a JSON object, and is written back byte for byte, and so
//! is every entry the run has not recorded yet: a run of a few links in a large archive costs a
//! copy of the file, not a parse and a rewrite of every entry, and a checkpoint early in a long
//! run costs little more. A file not in the one-link-per-line layout that
//! [`Manifest::save`](super::Manifest::save) writes is read whole, and written back in that
//! layout.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::json::{self, LinkLines};
use super::{Capture, LastCheck, LinkEntry, MANIFEST_FILE, ManifestError, SCHEMA_VERSION, Snapshot};
use crate::journal::JournalLink;
use crate::links::Link;
use crate::outcome::Change;

/// The manifest during a run: loaded with [`ManifestUpdate::load`], changed by
/// [`ManifestUpdate::record`], written by [`ManifestUpdate::save`].
#[derive(Debug)]
pub struct ManifestUpdate {
    /// When the manifest was last written; the run sets it before each save.
    pub updated_at: Option<String>,
    schema_version: u32,
    extra: Map<String, Value>,
    /// Every link, in the manifest's order, then the run's new links in links.json order.
    links: IndexMap<String, Slot>,
    /// The file's text, from which entries the run has not changed are written; empty when
    /// the file was not in the line layout.
    text: String,
    /// Where the manifest is, for errors.
    path: PathBuf,
    /// Entries found by URL and moved to their link's id: old id, new id.
    renames: Vec<(String, String)>,
}

/// What separates two link lines in the file: the comma after one member and the newline.
const LINE_BREAK: &str = ",\n";

/// A link's entry in a [`ManifestUpdate`].
#[derive(Debug)]
enum Slot {
    /// The entry of a link outside the run, left as text.
    Unread {
        place: Place,
        /// The entry's `url`, read with it, for finding entries by URL.
        url: Option<Box<str>>,
    },
    /// An entry read: a link of the run, a new one, or any link of a file not in the line
    /// layout. While the run has not changed it, `place` says where its text is, and that is
    /// what a save writes. (Boxed: most entries of a large archive stay unread in a small run.)
    Read {
        entry: Box<LinkEntry>,
        place: Option<Place>,
    },
}

/// Where an entry is in the manifest's text: its line's whole `"id": {…}` member, the entry
/// in it, and the entry's line and column for errors.
#[derive(Debug, Clone)]
struct Place {
    member: Range<usize>,
    entry: Range<usize>,
    line: usize,
    column: usize,
}

impl Slot {
    fn read(entry: LinkEntry, place: Option<Place>) -> Self {
        Slot::Read {
            entry: Box::new(entry),
            place,
        }
    }

    /// Where the text a save writes for this entry is, if it is written as it was read.
    fn unchanged_text(&self) -> Option<&Range<usize>> {
        match self {
            Slot::Unread { place, .. } | Slot::Read { place: Some(place), .. } => Some(&place.member),
            Slot::Read { place: None, .. } => None,
        }
    }
}

impl ManifestUpdate {
    /// Loads `archive/manifest.json` for a run over `run`: their entries are read (a missing
    /// one is added, empty, in `run`'s order), the others only checked to be JSON objects. A
    /// missing file is an empty manifest.
    pub fn load(archive: &Path, run: &[Link]) -> Result<Self, ManifestError> {
        Self::load_beside(archive, run, &[])
    }

    /// [`ManifestUpdate::load`] for a run over part of links.json (one shard of it), `outside`
    /// being the rest. Their entries are neither read nor added, and stay as they are; but
    /// they are links of the list all the same, so no link of the run takes over one of their
    /// entries by URL, as none would in a run over the whole list.
    pub fn load_beside(archive: &Path, run: &[Link], outside: &[Link]) -> Result<Self, ManifestError> {
        let path = archive.join(MANIFEST_FILE);
        let mut update = match super::read_bytes(&path)? {
            None => Self {
                updated_at: None,
                schema_version: SCHEMA_VERSION,
                extra: Map::new(),
                links: IndexMap::new(),
                text: String::new(),
                path,
                renames: Vec::new(),
            },
            Some(bytes) => {
                let text = json::into_text(bytes).map_err(|failure| super::parse_error(path.clone(), failure))?;
                let wanted: HashSet<&str> = run.iter().map(|link| link.id.as_str()).collect();
                match LinkLines::split(&text).and_then(|lines| read_lines(&lines, &wanted)) {
                    Some(parsed) => Self::from_parsed(parsed, text, path),
                    None => {
                        let parsed = json::parse_whole::<LinkEntry>(&text)
                            .map_err(|failure| super::parse_error(path.clone(), failure))?;
                        let links = parsed.links.into_iter().map(|(id, e)| (id, Slot::read(e, None)));
                        let parsed = json::Parsed {
                            links: links.collect(),
                            schema_version: parsed.schema_version,
                            updated_at: parsed.updated_at,
                            extra: parsed.extra,
                        };
                        Self::from_parsed(parsed, String::new(), path)
                    }
                }
            }
        };
        update.renames = update.match_by_url(run, outside)?;
        for link in run {
            update.links.entry(link.id.clone()).or_insert_with(|| {
                let entry = LinkEntry {
                    url: link.url.clone(),
                    ..LinkEntry::default()
                };
                Slot::read(entry, None)
            });
        }
        Ok(update)
    }

    /// Finds, for each link of `run` without an entry under its id, an entry with its URL that
    /// no link of `run` or `outside` claims by id, and moves that entry to the link's id (SPEC
    /// "Identity"). So a link whose derived id changed (a 0.1.0 archive's positional ids) keeps
    /// its history, and two links never share an entry. Returns the renames, old id first.
    fn match_by_url(&mut self, run: &[Link], outside: &[Link]) -> Result<Vec<(String, String)>, ManifestError> {
        let unmatched: Vec<&Link> = run.iter().filter(|l| !self.links.contains_key(&l.id)).collect();
        if unmatched.is_empty() {
            return Ok(Vec::new());
        }
        let claimed: HashSet<&str> = run.iter().chain(outside).map(|l| l.id.as_str()).collect();
        // Every unclaimed entry's URL, parsed as links.json's URLs are, to compare like with like.
        let mut by_url: HashMap<String, &str> = HashMap::new();
        for (id, slot) in &self.links {
            if claimed.contains(id.as_str()) {
                continue;
            }
            let url = match slot {
                Slot::Read { entry, .. } => Some(entry.url.as_str()),
                Slot::Unread { url, .. } => url.as_deref(),
            };
            if let Some(url) = url.map(|u| crate::links::parse_url(u).map_or_else(|_| u.to_owned(), String::from)) {
                // The first entry with a URL wins, as the oldest history.
                by_url.entry(url).or_insert(id);
            }
        }
        let renames: Vec<(String, String)> = unmatched
            .iter()
            .filter_map(|link| Some((by_url.remove(link.parsed.as_str())?.to_owned(), link.id.clone())))
            .collect();
        if renames.is_empty() {
            return Ok(renames);
        }
        let new_ids: HashMap<&str, &str> = renames.iter().map(|(old, new)| (old.as_str(), new.as_str())).collect();
        let links = std::mem::take(&mut self.links);
        for (id, mut slot) in links {
            let id = match new_ids.get(id.as_str()) {
                Some(new) => {
                    // Its text names the old id: from now on it is written as JSON.
                    read_slot(&self.text, &self.path, &mut slot)?;
                    if let Slot::Read { place, .. } = &mut slot {
                        *place = None;
                    }
                    (*new).to_owned()
                }
                None => id,
            };
            self.links.insert(id, slot);
        }
        Ok(renames)
    }

    /// The entries this run found by URL under another id, and moved to its link's id: old id,
    /// new id.
    pub fn renames(&self) -> &[(String, String)] {
        &self.renames
    }

    /// Lays a killed run's journal over the manifest: each link's entry replaces the one under
    /// its id, and an entry it was renamed from goes.
    pub fn apply(&mut self, journal: Vec<JournalLink>) {
        crate::journal::lay_over(&mut self.links, journal, |entry| Slot::read(entry, None));
    }

    /// The entry of link `id`, if it was read.
    pub fn entry(&self, id: &str) -> Option<&LinkEntry> {
        match self.links.get(id)? {
            Slot::Read { entry, .. } => Some(entry),
            Slot::Unread { .. } => None,
        }
    }

    fn from_parsed(parsed: json::Parsed<Slot>, text: String, path: PathBuf) -> Self {
        Self {
            updated_at: parsed.updated_at,
            schema_version: parsed.schema_version,
            extra: parsed.extra,
            links: parsed.links,
            text,
            path,
            renames: Vec::new(),
        }
    }

    /// The latest snapshot of link `id`. Only the run's links are read: for any other link
    /// this is `None`.
    pub fn latest(&self, id: &str) -> Option<&Snapshot> {
        match self.links.get(id)? {
            Slot::Read { entry, .. } => entry.snapshots.last(),
            Slot::Unread { .. } => None,
        }
    }

    /// Records a fetch of link `id`, as [`Manifest::record`](super::Manifest::record) does.
    /// The entry of a link outside the run is read first, which fails if it does not parse.
    pub fn record(
        &mut self,
        id: &str,
        url: &str,
        check: LastCheck,
        capture: Option<Capture>,
    ) -> Result<Option<Change>, ManifestError> {
        let slot = self
            .links
            .entry(id.to_owned())
            .or_insert_with(|| Slot::read(LinkEntry::default(), None));
        read_slot(&self.text, &self.path, slot)?;
        let Slot::Read { entry, place } = slot else {
            unreachable!("an unread entry was just read")
        };
        // Changed from here on: a save writes it as JSON.
        *place = None;
        Ok(entry.record(url, check, capture))
    }

    /// The entry of link `id` for changing (`None` if there is none), read first if the run
    /// had not (a link no longer in links.json, say); a save writes it as changed.
    pub fn entry_mut(&mut self, id: &str) -> Result<Option<&mut LinkEntry>, ManifestError> {
        let Some(slot) = self.links.get_mut(id) else {
            return Ok(None);
        };
        read_slot(&self.text, &self.path, slot)?;
        let Slot::Read { entry, place } = slot else {
            unreachable!("an unread entry was just read")
        };
        *place = None;
        Ok(Some(entry))
    }

    /// Writes `archive/manifest.json` atomically, entries the run did not change as they were.
    pub fn save(&self, archive: &Path) -> Result<(), ManifestError> {
        super::save_atomically(archive, |out| {
            let header = json::Header {
                schema_version: self.schema_version,
                updated_at: self.updated_at.as_deref(),
                extra: &self.extra,
            };
            json::write(header, out, |links| {
                // Unchanged lines next to each other in the file go out as one piece of it.
                let mut unchanged: Option<Range<usize>> = None;
                for (id, slot) in &self.links {
                    match (slot.unchanged_text(), &mut unchanged) {
                        (Some(text), Some(lines)) if lines.end + LINE_BREAK.len() == text.start => {
                            lines.end = text.end;
                        }
                        (Some(text), _) => {
                            if let Some(lines) = unchanged.replace(text.clone()) {
                                links.lines(&self.text[lines])?;
                            }
                        }
                        (None, _) => {
                            if let Some(lines) = unchanged.take() {
                                links.lines(&self.text[lines])?;
                            }
                            if let Slot::Read { entry, .. } = slot {
                                links.entry(id, entry)?;
                            }
                        }
                    }
                }
                unchanged.map_or(Ok(()), |lines| links.lines(&self.text[lines]))
            })
        })
    }
}

/// Reads an unread entry from the manifest's `text` (at `path`, for errors); fails, placing
/// the error, if it does not parse.
fn read_slot(text: &str, path: &Path, slot: &mut Slot) -> Result<(), ManifestError> {
    if let Slot::Unread { place, .. } = slot {
        let entry = serde_json::from_str(&text[place.entry.clone()]).map_err(|e| ManifestError::Parse {
            path: path.to_owned(),
            line: place.line,
            column: place.column + e.column() - 1,
            message: json::strip_position(&e.to_string()),
        })?;
        *slot = Slot::read(entry, Some(place.clone()));
    }
    Ok(())
}

/// Just an entry's URL, for finding entries by URL without reading them; whatever it holds.
#[derive(serde::Deserialize)]
struct UrlOnly<'a> {
    #[serde(borrow)]
    url: Option<&'a serde_json::value::RawValue>,
}

/// The manifest of `lines`, the entries of `wanted` links read and the others left unread;
/// `None` if a line does not parse (the whole text is then read, which places the error).
fn read_lines(lines: &LinkLines, wanted: &HashSet<&str>) -> Option<json::Parsed<Slot>> {
    let frame = lines.frame().ok()?;
    let slots = lines.map(|line| {
        let id = line.id()?;
        let place = Place {
            member: lines.span(line.member),
            entry: lines.span(line.entry),
            line: line.line,
            column: line.column,
        };
        let slot = if wanted.contains(id.as_str()) {
            Slot::read(serde_json::from_str(line.entry)?, Some(place))
        } else {
            // Syntax only, and an object: what the entry holds is read when a run needs it,
            // but for its URL, which finds it for a link whose id it does not have.
            if !line.entry.starts_with('{') {
                return Err(serde::de::Error::custom("an entry is not an object"));
            }
            let only: UrlOnly = serde_json::from_str(line.entry)?;
            let url = only.url.and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
            Slot::Unread {
                place,
                url: url.map(String::into_boxed_str),
            }
        };
        Ok((id, slot))
    })?;
    Some(frame.with_links(slots.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Manifest, Outcome};

    fn links(ids: &[&str]) -> Vec<Link> {
        let entries: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "url": format!("http://{id}.example/")}))
            .collect();
        let text = serde_json::json!({"version": 1, "links": entries}).to_string();
        crate::links::parse(Path::new("links.json"), &text).unwrap().links
    }

    fn check(run: &str) -> LastCheck {
        LastCheck {
            at: "2026-11-29T00:00:00Z".into(),
            outcome: Outcome::Ok,
            http_status: Some(200),
            final_url: None,
            error: None,
            run: run.into(),
            extra: Map::new(),
        }
    }

    /// An archive directory whose manifest is `text`.
    fn archive(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), text).unwrap();
        dir
    }

    fn saved(update: &ManifestUpdate, dir: &Path) -> String {
        update.save(dir).unwrap();
        std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap()
    }

    const LINES: &str = concat!(
        "{\"schema_version\":1,\"updated_at\":null,\n\"owner\":\"lab\",\n\"links\": {\n",
        "\"a\": {\"url\":\"http://a.example/\",\"snapshots\":[]},\n",
        "\"b\" : { \"url\" : \"http://b.example/\", \"snapshots\": [], \"tags\": [\"x\"] },\n",
        "\"c\\\"\\\\\": {\"snapshots\":[],\"url\":\"http://c.example/\"},\n",
        "\"d\": {\"url\":\"http://d.example/\",\"snapshots\":[]}\n",
        "}}\n"
    );

    #[test]
    fn only_the_runs_entries_are_rewritten() {
        let dir = archive(LINES);
        // b is read for the run but never recorded: written back as it was, like c and d.
        let mut update = ManifestUpdate::load(dir.path(), &links(&["a", "b", "n"])).unwrap();
        assert!(matches!(update.links["b"], Slot::Read { place: Some(_), .. }));
        assert!(matches!(update.links["c\"\\"], Slot::Unread { .. }));
        assert_eq!(
            update.record("a", "http://a.example/", check("r2"), None).unwrap(),
            None
        );
        let text = saved(&update, dir.path());

        let lines: Vec<&str> = text.lines().collect();
        let before: Vec<&str> = LINES.lines().collect();
        assert_eq!(lines[..3], before[..3], "the header");
        assert!(lines[3].contains("\"run\":\"r2\""), "{}", lines[3]);
        assert_eq!(lines[4..6], before[4..6], "b and c byte for byte");
        // The run's new link comes last, and the line before it gained its comma.
        assert_eq!(lines[6], "\"d\": {\"url\":\"http://d.example/\",\"snapshots\":[]},");
        assert!(
            lines[7].starts_with("\"n\": {\"url\":\"http://n.example/\""),
            "{}",
            lines[7]
        );
        let read = Manifest::load(dir.path()).unwrap();
        let ids: Vec<&str> = read.links.keys().map(String::as_str).collect();
        assert_eq!(ids, ["a", "b", "c\"\\", "d", "n"]);
        assert_eq!(read.links["b"].extra["tags"], serde_json::json!(["x"]));
        assert_eq!(read.extra["owner"], "lab");
    }

    #[test]
    fn the_same_manifest_as_a_whole_read_whatever_the_layout() {
        // Pretty-printed by hand: read whole, written in lines. And duplicated ids in lines:
        // the last entry wins in the first one's place, as in any JSON reader.
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(LINES).unwrap()).unwrap();
        let duplicated = LINES.replace(
            "\"d\": {\"url\":\"http://d.example/\",",
            "\"a\": {\"url\":\"http://a2.example/\",\"snapshots\":[]},\n\"d\": {\"url\":\"http://d.example/\",",
        );
        for text in [pretty.as_str(), LINES, &duplicated] {
            let dir = archive(text);
            let expected = Manifest::load(dir.path()).unwrap();
            for run in [&[][..], &["b"], &["a", "b", "c\"\\", "d"]] {
                let update = ManifestUpdate::load(dir.path(), &links(run)).unwrap();
                let written = saved(&update, dir.path());
                assert_eq!(written.parse::<Manifest>().unwrap(), expected, "{run:?} of\n{text}");
                std::fs::write(dir.path().join(MANIFEST_FILE), text).unwrap();
            }
        }
    }

    #[test]
    fn an_unread_entry_that_does_not_parse_is_an_error_when_recorded() {
        let text = LINES.replace("\"url\":\"http://d.example/\"", "\"url\":5");
        let dir = archive(&text);
        let mut update = ManifestUpdate::load(dir.path(), &links(&["a"])).unwrap();
        // Kept as it is while nothing needs it...
        assert!(saved(&update, dir.path()).contains("\"d\": {\"url\":5,"));
        // ...and placed when something does.
        let error = update.record("d", "http://d.example/", check("r"), None).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("manifest.json is not a valid manifest (line 7, column 13): invalid type: integer `5`"),
            "{message}"
        );
    }

    #[test]
    fn an_entry_outside_the_run_can_be_changed_and_only_it_is_rewritten() {
        let dir = archive(LINES);
        let mut update = ManifestUpdate::load(dir.path(), &links(&["a"])).unwrap();
        assert!(update.entry_mut("nobody").unwrap().is_none());
        let entry = update.entry_mut("d").unwrap().expect("d is in the manifest");
        entry.extra.insert("note".into(), Value::from("changed"));
        let text = saved(&update, dir.path());
        let (lines, before): (Vec<&str>, Vec<&str>) = (text.lines().collect(), LINES.lines().collect());
        assert_eq!(lines[..6], before[..6], "the header, a, b and c as they were");
        assert!(lines[6].contains("\"note\":\"changed\""), "{}", lines[6]);
    }

    #[test]
    fn a_missing_or_empty_manifest_gets_the_runs_links() {
        let dir = tempfile::tempdir().unwrap();
        let update = ManifestUpdate::load(dir.path(), &links(&["b", "a"])).unwrap();
        let text = saved(&update, dir.path());
        let again = ManifestUpdate::load(dir.path(), &links(&[])).unwrap();
        assert_eq!(saved(&again, dir.path()), text);
        let ids: Vec<String> = Manifest::load(dir.path()).unwrap().links.into_keys().collect();
        assert_eq!(ids, ["b", "a"]);

        std::fs::write(dir.path().join(MANIFEST_FILE), "").unwrap();
        assert!(ManifestUpdate::load(dir.path(), &links(&["a"])).is_err());
        let mut empty = Vec::new();
        Manifest::new().write(&mut empty).unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), &empty).unwrap();
        let update = ManifestUpdate::load(dir.path(), &links(&[])).unwrap();
        assert_eq!(saved(&update, dir.path()).as_bytes(), empty);
    }
}
