//! The lock of an archive in a bucket: a lease object instead of `flock`, which object storage
//! has no equivalent of.
//!
//! A run creates `.lock` (or, for `--shard K/N`, `.lock.shard-K-of-N`) with a conditional
//! create (`If-None-Match: *`): of two runs only one can. While it runs it renews the lease
//! every third of its TTL with a conditional write on the version it wrote (`If-Match`). A lease
//! not renewed within its TTL belongs to a run that died: the next run takes it over, again
//! with `If-Match` on the version it read, so of two runs taking over only one wins, and says
//! so in a warning. A run whose lease was taken over (it stalled past its TTL) finds out at its
//! next renewal and stops before compacting anything.
//!
//! Shard runs of one archive hold one lease each and may run at once; a run of the whole
//! archive conflicts with every other lease, and shards of different counts with each other.
//! Having created its lease, a run lists the others and backs off when one conflicts: two
//! runs that meet may both back off, but never both go on.
//!
//! Expiry compares the store's modification time of the lease with this machine's clock: the
//! TTL (`LINKKEEP_LEASE_TTL`, default 60 s) should be well above the clock skew between them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::bucket::{Bucket, BucketError, Object, Version, Written};

/// The lease of a whole archive, relative to the archive (the same name as the local lock).
pub const LEASE: &str = ".lock";
/// The default time-to-live of a lease.
const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// Why a lease could not be had or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("the archive {url} is locked by another run ({holder}); try again later or pass --wait-lock")]
    Held { url: String, holder: String },
    #[error(
        "this run's lease on {url} was taken over by another run ({holder}) after it was not renewed for {ttl} s; this run stopped, and its journal is left for the next run to recover"
    )]
    Lost { url: String, holder: String, ttl: u64 },
    #[error("LINKKEEP_LEASE_TTL={0:?} is not a number of seconds from 3 to 86400")]
    BadTtl(String),
    #[error(transparent)]
    Bucket(#[from] BucketError),
}

/// Which part of an archive a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every link.
    All,
    /// The links of shard `index` of `count`.
    Shard { index: u32, count: u32 },
}

impl Scope {
    /// The lease object's name.
    pub fn lease_name(self) -> String {
        match self {
            Self::All => LEASE.to_owned(),
            Self::Shard { index, count } => format!("{LEASE}.shard-{index}-of-{count}"),
        }
    }

    /// The scope a lease object's name stands for, if it is one.
    fn of_lease(name: &str) -> Option<Self> {
        if name == LEASE {
            return Some(Self::All);
        }
        let (index, count) = name.strip_prefix(".lock.shard-")?.split_once("-of-")?;
        Some(Self::Shard {
            index: index.parse().ok()?,
            count: count.parse().ok()?,
        })
    }

    /// A short tag for object names (journal segments): `all` or `shard-K-of-N`.
    pub fn tag(self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Shard { index, count } => format!("shard-{index}-of-{count}"),
        }
    }

    /// Whether runs of `self` and `other` may not write at once.
    fn conflicts(self, other: Self) -> bool {
        match (self, other) {
            (Self::Shard { index: a, count: n }, Self::Shard { index: b, count: m }) => n != m || a == b,
            _ => true,
        }
    }
}

/// What a lease object says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub command: String,
    pub started: String,
    pub renewed: String,
    pub ttl_seconds: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {} pid {} started {} command {}",
            self.host, self.pid, self.started, self.command
        )
    }
}

/// A held lease; renewed in the background until released.
#[derive(Debug)]
pub struct Lease {
    bucket: Bucket,
    name: String,
    version: Arc<Mutex<Version>>,
    lost: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    ttl: Duration,
    /// Set when this run took the lease over from a run that stopped renewing it.
    pub took_over: Option<String>,
}

/// The lease TTL from `LINKKEEP_LEASE_TTL`, else the default.
pub fn ttl_from_env() -> Result<Duration, LeaseError> {
    match std::env::var("LINKKEEP_LEASE_TTL") {
        Err(_) => Ok(DEFAULT_TTL),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(secs) if (3..=86_400).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => Err(LeaseError::BadTtl(text)),
        },
    }
}

/// Whether the lease `object` was not renewed within its TTL.
fn expired(object: &Object, holder: Option<&Holder>) -> bool {
    let ttl = holder.map_or(DEFAULT_TTL.as_secs(), |h| h.ttl_seconds);
    let age = Utc::now().signed_duration_since(object.modified);
    age.num_milliseconds() > (ttl as i64).saturating_mul(1000)
}

fn holder_of(object: &Object) -> Option<Holder> {
    serde_json::from_slice(&object.bytes).ok()
}

fn describe(object: &Object) -> String {
    holder_of(object).map_or_else(|| "holder unknown".to_owned(), |h| h.to_string())
}

impl Lease {
    /// Takes the lease of `scope` on the archive in `bucket` for `command`, or fails naming the
    /// holder. With `wait`, waits for the holder to finish (or to die) instead.
    pub async fn acquire(
        bucket: &Bucket,
        scope: Scope,
        command: &str,
        wait: bool,
        ttl: Duration,
    ) -> Result<Self, LeaseError> {
        let name = scope.lease_name();
        let started = crate::report::timestamp(Utc::now());
        let holder = |renewed: String| Holder {
            host: hostname(),
            pid: std::process::id(),
            command: command.to_owned(),
            started: started.clone(),
            renewed,
            ttl_seconds: ttl.as_secs(),
        };
        let poll = (ttl / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
        loop {
            let body = |h: &Holder| Bytes::from(serde_json::to_vec(h).expect("a holder serializes"));
            let mine = holder(crate::report::timestamp(Utc::now()));
            let mut took_over = None;
            let created = match bucket.put_if(&name, body(&mine), None).await? {
                Written::Done(version) => Some(version),
                Written::Conflict => match bucket.get_object(&name).await? {
                    // Released between the two requests: try again at once.
                    None => continue,
                    Some(found) if expired(&found, holder_of(&found).as_ref()) => {
                        match bucket.put_if(&name, body(&mine), Some(&found.version)).await? {
                            Written::Done(version) => {
                                took_over = Some(format!(
                                    "took over the lease {} of a run that stopped renewing it ({}; last renewed {})",
                                    bucket.url_of(&name),
                                    describe(&found),
                                    found.modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                                ));
                                Some(version)
                            }
                            Written::Conflict => None,
                        }
                    }
                    Some(_) if wait => None,
                    Some(found) => {
                        return Err(LeaseError::Held {
                            url: bucket.url().to_owned(),
                            holder: describe(&found),
                        });
                    }
                },
            };
            if let Some(version) = created {
                // Ours; now make sure no live lease of an overlapping scope exists.
                match conflicting(bucket, scope).await? {
                    None => {
                        let lease = Self::hold(bucket, name, version, ttl, mine, took_over);
                        return Ok(lease);
                    }
                    Some(other) => {
                        bucket.delete(&name).await?;
                        if !wait {
                            return Err(LeaseError::Held {
                                url: bucket.url().to_owned(),
                                holder: other,
                            });
                        }
                    }
                }
            }
            // Jittered, so that two runs that backed off from each other do not meet again.
            let jitter = Duration::from_millis(fastrand::u64(0..=poll.as_millis() as u64 / 2));
            tokio::time::sleep(poll + jitter).await;
        }
    }

    /// Starts renewing the lease just taken.
    fn hold(
        bucket: &Bucket,
        name: String,
        version: Version,
        ttl: Duration,
        mine: Holder,
        took_over: Option<String>,
    ) -> Self {
        let lease = Self {
            bucket: bucket.clone(),
            name,
            version: Arc::new(Mutex::new(version)),
            lost: Arc::new(Mutex::new(None)),
            stop: Arc::new(AtomicBool::new(false)),
            ttl,
            took_over,
        };
        let (bucket, name, version, lost, stop) = (
            lease.bucket.clone(),
            lease.name.clone(),
            Arc::clone(&lease.version),
            Arc::clone(&lease.lost),
            Arc::clone(&lease.stop),
        );
        let renewer = async move {
            let mut holder = mine;
            let every = ttl / 3;
            loop {
                tokio::time::sleep(every).await;
                if stop.load(Ordering::Acquire) {
                    return;
                }
                holder.renewed = crate::report::timestamp(Utc::now());
                let current = version.lock().expect("no panics while the version is held").clone();
                let bytes = Bytes::from(serde_json::to_vec(&holder).expect("a holder serializes"));
                match bucket.put_if(&name, bytes, Some(&current)).await {
                    Ok(Written::Done(new)) => *version.lock().expect("no panics while the version is held") = new,
                    Ok(Written::Conflict) => {
                        let now_holder = match bucket.get_object(&name).await {
                            Ok(Some(found)) => describe(&found),
                            _ => "holder unknown".to_owned(),
                        };
                        tracing::error!("the lease {} was taken over by {now_holder}", bucket.url_of(&name));
                        *lost.lock().expect("no panics while the lost flag is held") = Some(now_holder);
                        return;
                    }
                    // A failed renewal is tried again at the next turn: the TTL allows two misses.
                    Err(e) => tracing::warn!("cannot renew the lease {}: {e}", bucket.url_of(&name)),
                }
            }
        };
        // The renewer runs on the bucket's runtime, and dies with the process.
        lease.bucket.spawn(renewer);
        lease
    }

    /// Fails when another run took the lease over: this run must not compact.
    pub fn check(&self) -> Result<(), LeaseError> {
        match &*self.lost.lock().expect("no panics while the lost flag is held") {
            None => Ok(()),
            Some(holder) => Err(LeaseError::Lost {
                url: self.bucket.url().to_owned(),
                holder: holder.clone(),
                ttl: self.ttl.as_secs(),
            }),
        }
    }

    /// Gives the lease up (unless another run took it over meanwhile).
    pub async fn release(self) -> Result<(), LeaseError> {
        self.stop.store(true, Ordering::Release);
        if self
            .lost
            .lock()
            .expect("no panics while the lost flag is held")
            .is_some()
        {
            return Ok(());
        }
        // A plain delete: S3 has no conditional delete, and the lease is ours until its TTL.
        self.bucket.delete(&self.name).await?;
        Ok(())
    }
}

/// The holder of a live lease (not `own`) whose scope conflicts with `scope`, if any.
async fn conflicting(bucket: &Bucket, scope: Scope) -> Result<Option<String>, LeaseError> {
    let own = scope.lease_name();
    for listed in bucket.list_top().await? {
        if listed.name == own {
            continue;
        }
        let Some(other) = Scope::of_lease(&listed.name) else {
            continue;
        };
        if !scope.conflicts(other) {
            continue;
        }
        if let Some(found) = bucket.get_object(&listed.name).await?
            && !expired(&found, holder_of(&found).as_ref())
        {
            return Ok(Some(describe(&found)));
        }
    }
    Ok(None)
}

/// The scopes of the leases in `bucket` that are live now (not expired).
pub async fn live_scopes(bucket: &Bucket) -> Result<Vec<Scope>, LeaseError> {
    let mut live = Vec::new();
    for listed in bucket.list_top().await? {
        let Some(scope) = Scope::of_lease(&listed.name) else {
            continue;
        };
        if let Some(found) = bucket.get_object(&listed.name).await?
            && !expired(&found, holder_of(&found).as_ref())
        {
            live.push(scope);
        }
    }
    Ok(live)
}

/// This machine's name, for the holder's description.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_their_leases_and_conflict_as_shards_allow() {
        let all = Scope::All;
        let s1 = Scope::Shard { index: 1, count: 4 };
        let s2 = Scope::Shard { index: 2, count: 4 };
        let other_count = Scope::Shard { index: 0, count: 3 };
        assert_eq!(all.lease_name(), ".lock");
        assert_eq!(s1.lease_name(), ".lock.shard-1-of-4");
        assert_eq!(Scope::of_lease(".lock.shard-1-of-4"), Some(s1));
        assert_eq!(Scope::of_lease(".lock"), Some(all));
        assert_eq!(Scope::of_lease(".lockx"), None);
        assert_eq!(Scope::of_lease(".lock.shard-x-of-4"), None);
        assert!(all.conflicts(s1) && s1.conflicts(all) && all.conflicts(all));
        assert!(!s1.conflicts(s2), "shards of one count run together");
        assert!(s1.conflicts(s1), "one shard runs once");
        assert!(s1.conflicts(other_count), "shards of different counts overlap");
    }
}
