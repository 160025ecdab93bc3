//! The id → entry map: readers `load()` a published table lock-free; writers add to a side
//! table under a lock and publish a merged copy once enough work has been done to pay for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;

use super::entry::Entry;
use crate::Version;

/// Entries by id; an id maps to one entry per version asked for (usually one). The ARN of a
/// fetched secret points at its entry (the one that fetched it, or the one it was unified
/// with), and so does its name where the name means that secret (the cache decides which:
/// `Core::aliases`).
///
/// Hashed with foldhash rather than SipHash: every hit hashes the id, and ids come from the
/// application's own configuration, not from attacker-chosen input.
type Table = HashMap<Box<str>, Box<[Arc<Entry>]>, RandomState>;

/// Publishing copies the table: it waits until the inserts and side-table reads since the last
/// copy number at least the published keys divided by this, so each costs O(1) amortised.
const PUBLISH_RATIO: usize = 4;

pub(crate) struct EntryMap {
    /// The published table; hits read it without locking.
    table: ArcSwap<Table>,
    /// Serialises writers; readers on the hit path never take it.
    write: Mutex<Writer>,
    capacity: usize,
}

/// What only writers touch.
#[derive(Default)]
struct Writer {
    /// Keys added since the last publication, found under the lock until the next.
    recent: Table,
    /// Distinct entries in the published and recent tables together.
    len: usize,
    /// Inserts and side-table reads since the last publication.
    work: usize,
    /// Keys copied by publications so far (what inserts cost).
    #[cfg(test)]
    copied: usize,
}

impl EntryMap {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            table: ArcSwap::from_pointee(Table::default()),
            write: Mutex::default(),
            capacity,
        }
    }

    /// Calls `f` with the published entry for (`id`, `version`), without locking or allocating.
    #[inline]
    pub(crate) fn with<R>(
        &self,
        id: &str,
        version: &Version,
        f: impl FnOnce(&Arc<Entry>) -> R,
    ) -> Option<R> {
        find(&self.table.load(), id, version).map(f)
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for (`id`, `version`), created by `make` if absent. When the map is over
    /// capacity, the entries confirmed longest ago are dropped (see [`Self::evict`]).
    pub(crate) fn get_or_insert(
        &self,
        id: &str,
        version: &Version,
        make: impl FnOnce() -> Entry,
    ) -> Arc<Entry> {
        if let Some(entry) = self.with(id, version, Arc::clone) {
            return entry;
        }
        let mut writer = self.writer();
        if let Some(entry) = self.with(id, version, Arc::clone) {
            return entry;
        }
        writer.work += 1;
        if let Some(entry) = find(&writer.recent, id, version).cloned() {
            self.publish_if_paid(&mut writer);
            return entry;
        }
        let entry = Arc::new(make());
        push(&mut writer.recent, id, Arc::clone(&entry));
        writer.len += 1;
        if writer.len > self.capacity {
            self.evict(&mut writer, &entry);
        }
        self.publish_if_paid(&mut writer);
        entry
    }

    /// Makes `aliases` (the ARN and name of a fetched secret) find `entry` too, where they find
    /// nothing for its version yet.
    pub(crate) fn alias(&self, entry: &Arc<Entry>, aliases: &[&str]) {
        let missing = |table: &Table, alias: &str| {
            !alias.is_empty()
                && table
                    .get(alias)
                    .is_none_or(|es| es.iter().all(|e| e.version != entry.version))
        };
        if !aliases.iter().any(|a| missing(&self.table.load(), a)) {
            return;
        }
        let mut writer = self.writer();
        if entry.is_removed() {
            // Invalidated or evicted while its fetch was in flight: it stays out.
            return;
        }
        let table = self.table.load();
        for alias in aliases {
            if missing(&table, alias) && missing(&writer.recent, alias) {
                push(&mut writer.recent, alias, Arc::clone(entry));
                writer.work += 1;
            }
        }
        self.publish_if_paid(&mut writer);
    }

    /// The entry for (`id`, `version`), published or not yet (under the writers' lock then):
    /// for the miss path, which must see an entry added a moment ago.
    pub(crate) fn find(&self, id: &str, version: &Version) -> Option<Arc<Entry>> {
        self.with(id, version, Arc::clone)
            .or_else(|| find(&self.writer().recent, id, version).cloned())
    }

    /// Makes `entry` (just answered with the secret whose ARN is `arn`) and the entry already
    /// filed under `arn` for its version, if another one is, one entry: the one holding a value
    /// before this answer survives (`entry` merges into it), else `entry` does (a holder still
    /// on its first load merges into it). The entry merged away leaves the map and its ids
    /// point at the survivor.
    pub(crate) fn unify(&self, entry: &Arc<Entry>, arn: &str) -> Unified {
        if arn.is_empty() {
            return Unified::Alone;
        }
        let mut writer = self.writer();
        if entry.is_removed() {
            return Unified::Alone;
        }
        let Some(holder) = self.holder(&writer, entry, arn) else {
            return Unified::Alone;
        };
        if holder.state.load().is_some() {
            self.redirect(&mut writer, entry, &holder);
            Unified::Into(holder)
        } else {
            self.redirect(&mut writer, &holder, entry);
            Unified::Absorbed
        }
    }

    /// Another live entry of `entry`'s version filed under `arn`.
    fn holder(&self, writer: &Writer, entry: &Arc<Entry>, arn: &str) -> Option<Arc<Entry>> {
        let table = self.table.load();
        (table.get(arn).into_iter())
            .chain(writer.recent.get(arn))
            .flatten()
            .find(|e| e.version == entry.version && !Arc::ptr_eq(e, entry) && !e.is_removed())
            .cloned()
    }

    /// Takes `from` out of the map and files `to` under every id `from` was filed under (where
    /// no entry of that version is filed already).
    fn redirect(&self, writer: &mut Writer, from: &Arc<Entry>, to: &Arc<Entry>) {
        let table = self.table.load();
        let keys: Vec<Box<str>> = (table.iter().chain(writer.recent.iter()))
            .filter(|(_, es)| es.iter().any(|e| Arc::ptr_eq(e, from)))
            .map(|(key, _)| key.clone())
            .collect();
        drop(table);
        from.mark_removed();
        self.republish_without(writer, std::slice::from_ref(from));
        let table = self.table.load();
        let version = &to.version;
        for key in keys {
            let taken = |t: &Table| {
                (t.get(&key)).is_some_and(|es| es.iter().any(|e| e.version == *version))
            };
            if !taken(&table) && !taken(&writer.recent) {
                push(&mut writer.recent, &key, Arc::clone(to));
                writer.work += 1;
            }
        }
        drop(table);
        self.publish_if_paid(writer);
    }

    /// Removes every entry reachable from `id`, under all its names and versions; every other
    /// entry filed under the ARN one of them holds (the same secret read under another id
    /// before the two were known to be one); and the entries under the keys `same_secret`
    /// says may name it too.
    pub(crate) fn remove(&self, id: &str, same_secret: impl Fn(&str) -> bool) -> usize {
        let mut writer = self.writer();
        let table = self.table.load();
        let under = |key: &str| -> Vec<Arc<Entry>> {
            (table.get(key).into_iter())
                .chain(writer.recent.get(key))
                .flatten()
                .cloned()
                .collect()
        };
        let mut doomed = under(id);
        let arns: Vec<Box<str>> = (doomed.iter())
            .filter_map(|e| e.state.load().as_ref().map(|l| l.secret.arn.clone()))
            .filter(|arn| !arn.is_empty() && **arn != *id)
            .collect();
        for arn in arns {
            doomed.extend(under(&arn));
        }
        let keys: Vec<&str> = (table.keys().chain(writer.recent.keys()))
            .map(|key| &**key)
            .filter(|key| *key != id && same_secret(key))
            .collect();
        for key in keys {
            doomed.extend(under(key));
        }
        if doomed.is_empty() {
            return 0;
        }
        doomed.iter().for_each(|e| e.mark_removed());
        self.republish_without(&mut writer, &doomed)
    }

    /// Finds the entry fetched under `id`'s ARN or name, for IAM policies.
    pub(crate) fn find_any(&self, id: &str) -> Option<Arc<Entry>> {
        let first = |table: &Table| table.get(id).and_then(|es| es.first().cloned());
        first(&self.table.load()).or_else(|| first(&self.writer().recent))
    }

    /// Every entry in the map, once each (an entry filed under its id, ARN and name is one
    /// entry), in no particular order. Takes the writers' lock to see entries not yet
    /// published; never called on a read path.
    pub(crate) fn all(&self) -> Vec<Arc<Entry>> {
        let writer = self.writer();
        let table = self.table.load();
        let mut seen: HashMap<*const Entry, Arc<Entry>, RandomState> = HashMap::default();
        for entry in (table.values().chain(writer.recent.values())).flatten() {
            seen.entry(Arc::as_ptr(entry))
                .or_insert_with(|| Arc::clone(entry));
        }
        seen.into_values().collect()
    }

    /// Publishes the recent keys once the work since the last publication pays for the copy.
    fn publish_if_paid(&self, writer: &mut Writer) {
        if writer.work * PUBLISH_RATIO >= self.table.load().len() {
            self.republish_without(writer, &[]);
        }
    }

    /// Publishes the published and recent tables merged, without `doomed`; returns how many
    /// distinct entries that dropped.
    fn republish_without(&self, writer: &mut Writer, doomed: &[Arc<Entry>]) -> usize {
        let is_doomed = |e: &Arc<Entry>| doomed.iter().any(|d| Arc::ptr_eq(d, e));
        let current = self.table.load();
        let mut table = Table::with_capacity_and_hasher(
            current.len() + writer.recent.len(),
            current.hasher().clone(),
        );
        for (key, entries) in current.iter().chain(writer.recent.iter()) {
            for entry in entries.iter().filter(|e| !is_doomed(e)) {
                push(&mut table, key, Arc::clone(entry));
            }
        }
        let removed = distinct(doomed);
        #[cfg(test)]
        {
            writer.copied += table.len();
        }
        writer.recent.clear();
        writer.work = 0;
        writer.len = writer.len.saturating_sub(removed);
        self.table.store(Arc::new(table));
        removed
    }

    /// Brings the map back under capacity, with room to spare so the scan is rare: drops a
    /// sixteenth of the capacity (at least one entry), never-loaded entries first, then those
    /// confirmed longest ago. Only entries nobody else holds are dropped: not `keep` (the one
    /// just inserted), nor one a reader, a fetch or a live handle holds (a reader that took an
    /// entry and has not started its flight yet would otherwise fetch for an entry no longer in
    /// the map, and the next read fetch again). The map may then stay over capacity until they
    /// let go. The check narrows that race rather than closing it: a lock-free reader may still
    /// clone an entry from the published table between the count and the republication, at the
    /// cost of one extra fetch, never a wrong value.
    fn evict(&self, writer: &mut Writer, keep: &Arc<Entry>) {
        let current = self.table.load();
        // How many keys of the two tables hold each entry: a strong count above it is someone
        // else's hold.
        let mut held_by_map: HashMap<*const Entry, (&Arc<Entry>, usize), RandomState> =
            HashMap::default();
        for entry in (current.values().chain(writer.recent.values())).flatten() {
            held_by_map
                .entry(Arc::as_ptr(entry))
                .or_insert((entry, 0))
                .1 += 1;
        }
        let mut all: Vec<Arc<Entry>> = (held_by_map.values())
            .filter(|(e, keys)| !Arc::ptr_eq(e, keep) && Arc::strong_count(e) == *keys)
            .map(|(e, _)| Arc::clone(e))
            .collect();
        drop(held_by_map);
        all.sort_by_cached_key(|e| e.state.load().as_ref().map(|l| l.confirmed));
        let excess = writer.len - self.capacity;
        let count = (self.capacity / 16).max(excess).min(all.len());
        let doomed = &all[..count];
        doomed.iter().for_each(|e| e.mark_removed());
        self.republish_without(writer, doomed);
    }
}

/// What [`EntryMap::unify`] did.
pub(crate) enum Unified {
    /// No other entry of the secret: the entry stays as it is.
    Alone,
    /// The entry merged into this one, which held a value already.
    Into(Arc<Entry>),
    /// The other entry, still on its first load, merged into this one.
    Absorbed,
}

/// The entry for (`id`, `version`) in `table`.
#[inline]
fn find<'t>(table: &'t Table, id: &str, version: &Version) -> Option<&'t Arc<Entry>> {
    table
        .get(id)
        .and_then(|entries| entries.iter().find(|e| same_version(&e.version, version)))
}

/// How many distinct entries `entries` holds.
fn distinct(entries: &[Arc<Entry>]) -> usize {
    let mut seen: Vec<*const Entry> = entries.iter().map(Arc::as_ptr).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// `a == b`, deciding on pointer identity first: an entry's version is usually a clone of the
/// very `Arc` a reader passes (the cache's default), so a hit need not compare the label.
#[inline]
fn same_version(a: &Version, b: &Version) -> bool {
    match (a, b) {
        (Version::Stage(x), Version::Stage(y)) | (Version::Id(x), Version::Id(y)) => {
            Arc::ptr_eq(x, y) || x == y
        }
        _ => false,
    }
}

fn push(table: &mut Table, key: &str, entry: Arc<Entry>) {
    let mut entries: Vec<Arc<Entry>> = table.remove(key).map(Vec::from).unwrap_or_default();
    entries.push(entry);
    table.insert(key.into(), entries.into_boxed_slice());
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(id: &str) -> Entry {
        Entry::new(id.into(), Version::current(), Duration::from_secs(60))
    }

    #[test]
    fn inserts_cost_amortised_constant_work() {
        let n = 100_000;
        let map = EntryMap::new(n);
        let version = Version::current();
        for i in 0..n {
            let id = format!("app/secret-{i}");
            map.get_or_insert(&id, &version, || entry(&id));
        }
        let writer = map.writer();
        assert_eq!(writer.len, n);
        // Copy-on-every-insert copies n²/2 keys (5·10⁹ here); publishing once the work pays
        // for it copies each key a constant number of times.
        assert!(
            writer.copied <= (PUBLISH_RATIO + 2) * n,
            "{} keys copied for {n} inserts",
            writer.copied
        );
        drop(writer);
        for i in (0..n).step_by(997) {
            let id = format!("app/secret-{i}");
            assert!(map.find_any(&id).is_some(), "{id} lost");
        }
    }

    #[test]
    fn recent_entries_are_found_and_published_once_paid_for() {
        let map = EntryMap::new(1_000);
        let version = Version::current();
        for i in 0..100 {
            let id = format!("s{i}");
            map.get_or_insert(&id, &version, || entry(&id));
        }
        let late = map.get_or_insert("late", &version, || entry("late"));
        let again = map.get_or_insert("late", &version, || unreachable!("found, not made"));
        assert!(Arc::ptr_eq(&late, &again));
        // Reads served from the side table pay for the copy: within a quarter of the table's
        // size, the entry is on the lock-free path.
        for _ in 0..30 {
            map.get_or_insert("late", &version, || unreachable!("found"));
        }
        assert!(map.with("late", &version, |_| ()).is_some(), "published");
    }

    #[test]
    fn eviction_spares_entries_in_flight_and_drops_the_never_loaded_first() {
        let map = EntryMap::new(4);
        let version = Version::current();
        let busy = map.get_or_insert("busy", &version, || entry("busy"));
        let (_reply, answer) =
            tokio::sync::oneshot::channel::<Result<Arc<crate::Secret>, crate::Error>>();
        {
            use futures_util::FutureExt;
            let flight = answer
                .map(|r| {
                    r.unwrap_or_else(|_| {
                        Err(crate::Error::Config {
                            message: String::new(),
                        })
                    })
                })
                .boxed()
                .shared();
            *busy.flight_slot() = Some(flight);
        }
        for i in 0..8 {
            let id = format!("s{i}");
            map.get_or_insert(&id, &version, || entry(&id));
        }
        assert!(
            map.find_any("busy").is_some(),
            "an entry in flight is never evicted"
        );
        assert!(!busy.is_removed());
        assert!(
            map.writer().len <= 4 + 1,
            "over capacity by at most the spared entry"
        );
    }
}
