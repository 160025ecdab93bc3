//! The id → entry map: readers `load()` a snapshot lock-free; writers copy, change and swap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;

use super::entry::Entry;
use crate::Version;

/// Entries by id; an id maps to one entry per version asked for (usually one). The ARN and the
/// name of a fetched secret both point at the entry that fetched it.
///
/// Hashed with foldhash rather than SipHash: every hit hashes the id, and ids come from the
/// application's own configuration, not from attacker-chosen input.
type Table = HashMap<Box<str>, Box<[Arc<Entry>]>, RandomState>;

pub(crate) struct EntryMap {
    table: ArcSwap<Table>,
    /// Serialises writers; readers never take it.
    write: Mutex<()>,
    capacity: usize,
}

impl EntryMap {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            table: ArcSwap::from_pointee(Table::default()),
            write: Mutex::new(()),
            capacity,
        }
    }

    /// Calls `f` with the entry for (`id`, `version`) without locking or allocating.
    #[inline]
    pub(crate) fn with<R>(
        &self,
        id: &str,
        version: &Version,
        f: impl FnOnce(&Arc<Entry>) -> R,
    ) -> Option<R> {
        let table = self.table.load();
        table
            .get(id)
            .and_then(|entries| entries.iter().find(|e| same_version(&e.version, version)))
            .map(f)
    }

    /// The entry for (`id`, `version`), created by `make` if absent.
    pub(crate) fn get_or_insert(
        &self,
        id: &str,
        version: &Version,
        make: impl FnOnce() -> Entry,
    ) -> Arc<Entry> {
        if let Some(entry) = self.with(id, version, Arc::clone) {
            return entry;
        }
        let _writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = self.with(id, version, Arc::clone) {
            return entry;
        }
        let entry = Arc::new(make());
        let mut table = Table::clone(&self.table.load());
        if distinct_entries(&table) >= self.capacity {
            evict_oldest(&mut table);
        }
        push(&mut table, id, Arc::clone(&entry));
        self.table.store(Arc::new(table));
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
        let _writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        if entry.is_removed() {
            // Invalidated or evicted while its fetch was in flight: it stays out.
            return;
        }
        let mut table = Table::clone(&self.table.load());
        for alias in aliases {
            if missing(&table, alias) {
                push(&mut table, alias, Arc::clone(entry));
            }
        }
        self.table.store(Arc::new(table));
    }

    /// Removes every entry reachable from `id`, under all its names and versions.
    pub(crate) fn remove(&self, id: &str) -> usize {
        let _writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.table.load();
        let Some(doomed) = current.get(id) else {
            return 0;
        };
        doomed.iter().for_each(|e| e.mark_removed());
        let is_doomed = |e: &Arc<Entry>| doomed.iter().any(|d| Arc::ptr_eq(d, e));
        let mut table = Table::with_capacity_and_hasher(current.len(), current.hasher().clone());
        for (key, entries) in current.iter() {
            let kept: Box<[Arc<Entry>]> =
                entries.iter().filter(|e| !is_doomed(e)).cloned().collect();
            if !kept.is_empty() {
                table.insert(key.clone(), kept);
            }
        }
        let removed = doomed.len();
        self.table.store(Arc::new(table));
        removed
    }

    /// Finds the entry fetched under `id`'s ARN or name, for IAM policies.
    pub(crate) fn find_any(&self, id: &str) -> Option<Arc<Entry>> {
        self.table.load().get(id).and_then(|es| es.first().cloned())
    }
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

fn distinct_entries(table: &Table) -> usize {
    let mut seen: Vec<*const Entry> = table.values().flatten().map(Arc::as_ptr).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Drops the entry confirmed longest ago (never-loaded entries first), under all its keys.
fn evict_oldest(table: &mut Table) {
    let oldest = table
        .values()
        .flatten()
        .min_by_key(|e| e.state.load().as_ref().map(|l| l.confirmed))
        .cloned();
    if let Some(oldest) = oldest {
        oldest.mark_removed();
        table.retain(|_, entries| {
            let kept: Vec<Arc<Entry>> = entries
                .iter()
                .filter(|e| !Arc::ptr_eq(e, &oldest))
                .cloned()
                .collect();
            *entries = kept.into_boxed_slice();
            !entries.is_empty()
        });
    }
}
