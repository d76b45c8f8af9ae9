//! The session views this process keeps, found by the cookie itself.
//!
//! A request's session is looked up here before anything else, so the
//! look-up is the cheapest the view's guarantees allow (P15):
//!
//! * **The key** is a keyed 128-bit SipHash-2-4 of the cookie (the key is
//!   random per process), not the SHA-256 the store files a session under:
//!   a cached session costs no SHA-256 (3,500 instructions without SHA-NI)
//!   and no hex. Without the key no one can aim a cookie at another
//!   session's entry, and two of 200,000 live sessions meet by chance with
//!   a probability under 2⁻⁹⁰. The entry keeps the store's id hash, so a
//!   notice naming a session (by that hash) finds it through `owners`.
//! * **No admission or frequency sketch** (moka's `get` was 2,800
//!   instructions of them): a view stays until it is told of a change
//!   (`remove_session`, `retain`, `clear`), its age reaches the bound, or
//!   the bound on entries makes room. Expired entries are swept with the
//!   idle-time flush.
//! * **A view's age is never reset**: a refreshed last-seen time replaces
//!   the value and keeps its expiry, so `store.cache_max_age_ms` bounds
//!   every view however busy its session is.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use siphasher::sip128::SipHasher24;

/// A cookie's tag: the cache's key.
pub type Tag = u128;

/// Shards, so that requests on both cores seldom meet on one lock.
const SHARDS: usize = 16;

/// The tags are already uniform: the map hashes them no further.
#[derive(Default)]
struct TagHasher(u64);

impl Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` keys reach this map (`write_u128`); kept total anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, tag: u128) {
        self.0 = tag as u64;
    }
}

type Shard<V> = HashMap<Tag, Entry<V>, BuildHasherDefault<TagHasher>>;

struct Entry<V> {
    value: V,
    id_hash: Arc<str>,
    expires: Instant,
}

/// Views by cookie tag, bounded in age and count.
pub struct ViewCache<V> {
    hasher: SipHasher24,
    shards: Box<[RwLock<Shard<V>>]>,
    /// The tag of each cached session, by the id hash its notices name.
    /// Taken before a shard's lock, never after.
    owners: Mutex<HashMap<Arc<str>, Tag>>,
    max_age: Duration,
    per_shard: usize,
}

impl<V: Clone> ViewCache<V> {
    /// A cache of at most `capacity` views, each used at most `max_age`
    /// (spread over its second half: see [`Self::expiry`]).
    pub fn new(capacity: usize, max_age: Duration) -> ViewCache<V> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).expect("the system's random source");
        let k0 = u64::from_le_bytes(key[..8].try_into().expect("8 bytes"));
        let k1 = u64::from_le_bytes(key[8..].try_into().expect("8 bytes"));
        ViewCache {
            hasher: SipHasher24::new_with_keys(k0, k1),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            owners: Mutex::default(),
            max_age,
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// The cache's key for a cookie value.
    pub fn tag(&self, cookie: &str) -> Tag {
        self.hasher.hash(cookie.as_bytes()).as_u128()
    }

    fn shard(&self, tag: Tag) -> &RwLock<Shard<V>> {
        &self.shards[(tag >> 64) as usize % SHARDS]
    }

    /// The view cached for `tag` and the session's id hash, unless it has
    /// reached its age.
    pub fn get(&self, tag: Tag, now: Instant) -> Option<(V, Arc<str>)> {
        let shard = self.shard(tag).read().unwrap_or_else(|p| p.into_inner());
        let entry = shard.get(&tag)?;
        (entry.expires > now).then(|| (entry.value.clone(), entry.id_hash.clone()))
    }

    /// When a view first cached at `now` expires: between half and all of
    /// the bound, by the tag's own fraction. Sessions first seen together
    /// (a benchmark's warm-up, an office at 9:00) would otherwise expire in
    /// one instant and reach the store in one burst.
    fn expiry(&self, tag: Tag, now: Instant) -> Instant {
        let fraction = f64::from(tag as u16) / f64::from(u16::MAX);
        now + self.max_age.mul_f64(0.5 + 0.5 * fraction)
    }

    /// Caches a view read from the store, if `still_current()` holds once
    /// both locks are taken: a change told while the read was under way
    /// (which moves what `still_current` checks before it removes
    /// anything) keeps the old state out.
    pub fn insert_if(
        &self,
        tag: Tag,
        id_hash: &str,
        value: V,
        now: Instant,
        still_current: impl FnOnce() -> bool,
    ) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        let mut shard = self.shard(tag).write().unwrap_or_else(|p| p.into_inner());
        if !still_current() {
            return;
        }
        if shard.len() >= self.per_shard && !shard.contains_key(&tag) {
            make_room(&mut shard, &mut owners, now);
        }
        let id_hash: Arc<str> = Arc::from(id_hash);
        owners.insert(id_hash.clone(), tag);
        let expires = self.expiry(tag, now);
        shard.insert(
            tag,
            Entry {
                value,
                id_hash,
                expires,
            },
        );
    }

    /// Replaces the value of a view still cached (a refreshed last-seen
    /// time), keeping its expiry; a view removed meanwhile stays removed.
    pub fn replace(&self, tag: Tag, value: V) {
        let mut shard = self.shard(tag).write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = shard.get_mut(&tag) {
            entry.value = value;
        }
    }

    /// Drops the view of the session filed under `id_hash`.
    pub fn remove_session(&self, id_hash: &str) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tag) = owners.remove(id_hash) {
            let mut shard = self.shard(tag).write().unwrap_or_else(|p| p.into_inner());
            if shard.get(&tag).is_some_and(|e| &*e.id_hash == id_hash) {
                shard.remove(&tag);
            }
        }
    }

    /// Keeps only the views `keep` accepts (a user's or a tenant's change).
    pub fn retain(&self, keep: impl Fn(&V) -> bool) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        for shard in &*self.shards {
            let mut shard = shard.write().unwrap_or_else(|p| p.into_inner());
            shard.retain(|_, e| {
                let kept = keep(&e.value);
                if !kept {
                    owners.remove(&e.id_hash);
                }
                kept
            });
        }
    }

    /// Drops every view (a lost notice channel).
    pub fn clear(&self) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        for shard in &*self.shards {
            shard.write().unwrap_or_else(|p| p.into_inner()).clear();
        }
        owners.clear();
    }

    /// Drops the views that reached their age.
    pub fn sweep(&self, now: Instant) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        for shard in &*self.shards {
            let mut shard = shard.write().unwrap_or_else(|p| p.into_inner());
            drop_expired(&mut shard, &mut owners, now);
        }
    }

    /// Whether no view is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many views are cached.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

fn drop_expired<V>(shard: &mut Shard<V>, owners: &mut HashMap<Arc<str>, Tag>, now: Instant) {
    shard.retain(|_, e| {
        let live = e.expires > now;
        if !live {
            owners.remove(&e.id_hash);
        }
        live
    });
}

/// A full shard: the expired views go first; if none had, the one that
/// expires soonest (the oldest, give or take the spread).
fn make_room<V>(shard: &mut Shard<V>, owners: &mut HashMap<Arc<str>, Tag>, now: Instant) {
    let before = shard.len();
    drop_expired(shard, owners, now);
    if shard.len() < before {
        return;
    }
    let oldest = shard
        .iter()
        .min_by_key(|(_, e)| e.expires)
        .map(|(tag, e)| (*tag, e.id_hash.clone()));
    if let Some((tag, id_hash)) = oldest {
        shard.remove(&tag);
        owners.remove(&id_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: usize) -> ViewCache<u32> {
        ViewCache::new(capacity, Duration::from_secs(10))
    }

    #[test]
    fn a_cookie_finds_its_view_and_a_notice_by_id_hash_removes_it() {
        let c = cache(100);
        let now = Instant::now();
        let tag = c.tag("cookie-a");
        assert_eq!(
            tag,
            c.tag("cookie-a"),
            "the tag is a function of the cookie"
        );
        assert_ne!(tag, c.tag("cookie-b"));
        assert!(c.get(tag, now).is_none());
        c.insert_if(tag, "hash-a", 7, now, || true);
        let (v, h) = c.get(tag, now).expect("cached");
        assert_eq!((v, &*h), (7, "hash-a"));
        c.remove_session("hash-a");
        assert!(c.get(tag, now).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn two_processes_tag_one_cookie_differently() {
        assert_ne!(cache(1).tag("cookie"), cache(1).tag("cookie"), "keyed");
    }

    #[test]
    fn a_change_told_during_the_read_keeps_the_view_out() {
        let c = cache(100);
        let now = Instant::now();
        let tag = c.tag("cookie");
        c.insert_if(tag, "h", 1, now, || false);
        assert!(c.get(tag, now).is_none());
    }

    #[test]
    fn a_view_expires_within_its_bound_and_a_refresh_keeps_its_age() {
        let c = cache(100);
        let now = Instant::now();
        let tag = c.tag("cookie");
        c.insert_if(tag, "h", 1, now, || true);
        c.replace(tag, 2);
        assert_eq!(
            c.get(tag, now + Duration::from_secs(4)).map(|v| v.0),
            Some(2)
        );
        assert!(
            c.get(tag, now + Duration::from_secs(10)).is_none(),
            "never past the bound"
        );
        c.sweep(now + Duration::from_secs(10));
        assert_eq!(c.len(), 0);
        c.replace(tag, 3);
        assert!(
            c.get(tag, now).is_none(),
            "a removed view is not brought back"
        );
    }

    #[test]
    fn user_and_tenant_changes_drop_what_they_name() {
        let c = cache(100);
        let now = Instant::now();
        for i in 0..10u32 {
            c.insert_if(c.tag(&format!("c{i}")), &format!("h{i}"), i, now, || true);
        }
        c.retain(|v| v % 2 == 0);
        assert_eq!(c.len(), 5);
        assert!(c.get(c.tag("c3"), now).is_none());
        assert!(c.get(c.tag("c4"), now).is_some());
        c.remove_session("h3");
        c.clear();
        assert_eq!(c.len(), 0);
        assert!(c.owners.lock().unwrap().is_empty());
    }

    #[test]
    fn the_bound_on_entries_holds() {
        let c = cache(SHARDS * 2);
        let now = Instant::now();
        for i in 0..1000u32 {
            c.insert_if(c.tag(&format!("c{i}")), &format!("h{i}"), i, now, || true);
        }
        assert!(c.len() <= SHARDS * 2);
        assert_eq!(
            c.owners.lock().unwrap().len(),
            c.len(),
            "no owner left behind"
        );
    }
}
