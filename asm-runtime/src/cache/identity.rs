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

use std::borrow::Cow;
use std::sync::Arc;

use super::entry::Flight;
use super::map::Unified;
use super::{Core, Entry, Loaded};
use crate::arn::Arn;
use crate::plan::Request;
use crate::{Secret, Version};

impl Core {
    /// Files `entry`, just answered with `secret` (its state `loaded`), under the secret's ARN
    /// and, where the name is ours, its name; unified with another entry already filed under
    /// that ARN, if there is one. Returns whether the answer is a new version for readers of
    /// the entry it merged into.
    pub(super) fn identify(
        &self,
        entry: &Arc<Entry>,
        secret: &Secret,
        loaded: &Arc<Loaded>,
    ) -> bool {
        let [arn, name] = self.aliases(entry, secret);
        let aliases = [&*arn, &*name];
        let holder = match self.entries.unify(entry, aliases[0]) {
            Unified::Alone | Unified::Absorbed => {
                self.entries.alias(entry, &aliases);
                return false;
            }
            Unified::Into(holder) => holder,
        };
        let previous = holder.state.swap(Some(Arc::clone(loaded)));
        holder.failure.forget();
        self.entries.alias(&holder, &aliases);
        tracing::debug!(
            secret_id = &*entry.id,
            into = &*holder.id,
            "one secret read under two ids: their entries merged"
        );
        let rotated = previous.is_some_and(|p| p.secret.version_id() != secret.version_id());
        if rotated {
            self.counters.rotation();
            tracing::info!(
                secret_id = &*holder.id,
                version_id = secret.version_id(),
                "new version adopted"
            );
        }
        rotated
    }

    /// The ids besides its own that may find `entry` once `secret` is fetched: its ARN (one
    /// secret in the world), and its name only where that name means this secret: in the
    /// source's home, learned from the first read by name. A replica's answer (failover) is
    /// filed under its primary's ARN, and teaches the home only as the primary's.
    fn aliases<'s>(&self, entry: &Entry, secret: &'s Secret) -> [Cow<'s, str>; 2] {
        let arn = self.failover.as_primary(secret.arn());
        let ours = match Arn::parse(&arn) {
            None => false,
            Some(parsed) => {
                let by_name = Arn::parse(&entry.id).is_none();
                let home = if by_name {
                    self.home.get_or_init(|| parsed.home().into())
                } else {
                    self.home.get().map_or("", |home| &**home)
                };
                parsed.home() == home
            }
        };
        [arn, Cow::Borrowed(if ours { secret.name() } else { "" })]
    }

    /// The flight of a first load by name that a read of `id` (an ARN, full or partial) may
    /// share: one of the name `id` holds, in flight and holding no value yet, when `id` may be
    /// the same secret (its home is ours, or ours is not known yet), or the same parameter.
    pub(super) fn first_load_by_name(&self, id: &str, version: &Version) -> Option<Flight> {
        if let Some(name) = crate::parameter::name_id_of_arn(id) {
            // A parameter has no home to check: after the name's load, the read by ARN finds
            // the name's entry only if it was answered with this ARN (`identify`).
            let entry = self.entries.find(&name, version)?;
            let loading = entry.state.load().is_none();
            return loading.then(|| entry.current_flight()).flatten();
        }
        let arn = Arn::parse(id)?;
        if self.home.get().is_some_and(|home| **home != *arn.home()) {
            return None;
        }
        let entry = self.entries.find(arn.name(), version)?;
        let loading = entry.state.load().is_none();
        loading.then(|| entry.current_flight()).flatten()
    }

    /// Waits for the first load by name a read of `id` may share (see
    /// [`first_load_by_name`](Self::first_load_by_name)); then, for a partial ARN the answer
    /// names, files that ARN on the name's entry too. Returns whether it waited.
    pub(super) async fn await_first_load_by_name(&self, id: &str, version: &Version) -> bool {
        let Some(flight) = self.first_load_by_name(id, version) else {
            return false;
        };
        // The outcome is the name's readers' to see; this read looks again after.
        drop(flight.await);
        let Some(arn) = Arn::parse(id).filter(|arn| !arn.is_complete()) else {
            return true;
        };
        if let Some(entry) = self.entries.find(arn.name(), version) {
            let answered = entry.state.load_full();
            let same = answered.as_ref().and_then(|l| Arn::parse(l.secret.arn()));
            if same.is_some_and(|same| same.is_requested_as(id)) {
                self.entries.alias(&entry, &[id]);
            }
        }
        true
    }

    /// Waits for the first loads by name that reads of `requests` by ARN may share.
    pub(super) async fn await_first_loads_by_name(&self, requests: &[Request]) {
        let waits = (requests.iter()).map(|r| self.await_first_load_by_name(&r.id, &r.version));
        drop(futures_util::future::join_all(waits).await);
    }

    /// Drops every entry of the secret `id` names: under `id`, under the ARN it was answered
    /// with; for a bare name, under the ARNs of that name that may be ours (all of them while no
    /// read by name has shown which account and region are ours); for an ARN that may be ours,
    /// a first load of its name still in flight. Dropping too much costs a fetch, too little
    /// serves an invalidated value.
    pub(super) fn remove(&self, id: &str) -> usize {
        if let Some(name) = crate::parameter::name_id_of_arn(id) {
            // A parameter's ARN: also a first load of its name in flight, which a read by ARN
            // would otherwise wait for and share.
            let loading = (self.entries.find(&name, self.default_version(&name)))
                .is_some_and(|e| e.state.load().is_none());
            return self.entries.remove(id, |key| loading && key == name);
        }
        let home = self.home.get();
        let may_be_ours = |arn: &Arn<'_>| home.is_none_or(|home| **home == *arn.home());
        match Arn::parse(id) {
            None => self.entries.remove(id, |key| {
                Arn::parse(key).is_some_and(|arn| arn.name() == id && may_be_ours(&arn))
            }),
            Some(arn) if may_be_ours(&arn) => {
                // Looked at before `remove` takes the writers' lock (`find` may take it too).
                let name = arn.name();
                let loading = (self.entries.find(name, &self.settings.version))
                    .is_some_and(|e| e.state.load().is_none());
                self.entries.remove(id, |key| loading && key == name)
            }
            Some(_) => self.entries.remove(id, |_| false),
        }
    }
}
