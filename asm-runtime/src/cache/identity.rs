//! One secret, one entry: which ids name the same secret, and how the entries of two ids
//! become one.
//!
//! A secret may be read by its name and by its ARN (full, or without its six-character
//! suffix). A bare name means a secret of the source's own account and region (its *home*,
//! `arn:…:REGION:ACCOUNT:secret:`, learned from the ARN of the first secret read by name);
//! another account's secret, read by its ARN, never answers a bare name. Within the home:
//!
//! - a fetched secret is filed under its ARN, and under its name when the name is ours;
//! - a read by ARN that starts while a first load of its name is in flight waits for that
//!   load and shares its answer (one call), rather than starting its own;
//! - when two entries of one secret were answered anyway (a read by ARN before any read by
//!   name, then the name), the later one merges into the entry already filed under the ARN:
//!   it hands over its answer and its ids, and leaves the map.

use std::sync::Arc;

use super::entry::Flight;
use super::{Core, Entry, Loaded};
use crate::arn::Arn;
use crate::plan::Request;
use crate::{Secret, Version};

/// What filing a fetched secret did to another entry of the same secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merged {
    /// Nothing: the entry was the only one of its secret.
    No,
    /// It merged into the entry already filed under the secret's ARN, which held that version.
    Confirmed,
    /// It merged into the entry already filed under the secret's ARN, which held an older
    /// version: that entry's readers see a rotation.
    Rotated,
}

impl Core {
    /// Files `entry`, just answered with `secret` (its state `loaded`), under the secret's ARN
    /// and, where the name is ours, its name; or merges it into the entry already filed under
    /// that ARN.
    pub(super) fn file(&self, entry: &Arc<Entry>, secret: &Secret, loaded: &Arc<Loaded>) -> Merged {
        let aliases = self.aliases(entry, secret);
        let Some(held) = self.entries.merge_into_holder(entry, aliases[0]) else {
            self.entries.alias(entry, &aliases);
            return Merged::No;
        };
        let previous = held.state.swap(Some(Arc::clone(loaded)));
        held.failure.forget();
        self.entries.alias(&held, &aliases);
        tracing::debug!(
            secret_id = &*entry.id,
            into = &*held.id,
            "one secret read under two ids: their entries merged"
        );
        match previous {
            Some(p) if p.secret.version_id() != secret.version_id() => Merged::Rotated,
            _ => Merged::Confirmed,
        }
    }

    /// The ids besides its own that may find `entry` once `secret` is fetched: its ARN (one
    /// secret in the world), and its name only where that name means this secret: in the
    /// source's home, learned from the first read by name.
    fn aliases<'s>(&self, entry: &Entry, secret: &'s Secret) -> [&'s str; 2] {
        let Some(arn) = Arn::parse(secret.arn()) else {
            return [secret.arn(), ""];
        };
        let by_name = Arn::parse(&entry.id).is_none();
        let home = if by_name {
            self.home.get_or_init(|| arn.home().into())
        } else {
            self.home.get().map_or("", |home| &**home)
        };
        let ours = arn.home() == home;
        [secret.arn(), if ours { secret.name() } else { "" }]
    }

    /// The first load in flight of the name `id` (an ARN) has, when `id` may be the same
    /// secret (its home is ours, or ours is not known yet): a read of `id` waits for it, then
    /// finds the entry it filed under its ARN, instead of a second call.
    pub(super) fn first_load_by_name(&self, id: &str, version: &Version) -> Option<Flight> {
        let arn = Arn::parse(id)?;
        if self.home.get().is_some_and(|home| **home != *arn.home()) {
            return None;
        }
        self.entries
            .with(arn.name(), version, |entry| {
                let loading = entry.state.load().is_none();
                loading.then(|| entry.current_flight()).flatten()
            })
            .flatten()
    }

    /// Drops every entry of the secret `id` names: under `id`, under the ARN it was answered
    /// with, and, for a bare name, under the ARNs of that name that may be ours (all of them
    /// while no read by name has shown which account and region are ours): dropping too much
    /// costs a fetch, too little serves an invalidated value.
    pub(super) fn remove(&self, id: &str) -> usize {
        let by_name = Arn::parse(id).is_none();
        let home = self.home.get();
        self.entries.remove(id, |key| {
            by_name
                && Arn::parse(key).is_some_and(|arn| {
                    arn.name() == id && home.is_none_or(|home| **home == *arn.home())
                })
        })
    }

    /// Waits for the first loads by name that reads of `requests` by ARN may share.
    pub(super) async fn await_first_loads_by_name(&self, requests: &[Request]) {
        let flights: Vec<Flight> = (requests.iter())
            .filter_map(|r| self.first_load_by_name(&r.id, &r.version))
            .collect();
        // Their outcome is the name's readers' to see; the ARN's readers look again after.
        drop(futures_util::future::join_all(flights).await);
    }
}
