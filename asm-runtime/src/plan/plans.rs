//! The plans a cache has built, by struct type and placeholder values: a warm `load` reuses
//! one instead of resolving ids and merging reads again.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;

use super::{Declaration, Plan, PlanDefaults};
use crate::{Error, Vars};

/// Plans kept before the table starts over: distinct placeholder values are few in a service
/// (an environment, a region), but `load_with` could be handed new ones on every call.
const MAX_PLANS: usize = 256;

/// A struct type and the values its ids' placeholders had when its plan was built.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    ty: TypeId,
    values: Vec<Option<String>>,
}

type Table = HashMap<Key, Arc<Plan>, RandomState>;

/// Built plans; readers `load()` lock-free, writers copy, add and swap.
#[derive(Default)]
pub(crate) struct Plans {
    table: ArcSwap<Table>,
    write: Mutex<()>,
}

impl Plans {
    /// `T`'s plan under `vars`, built on first use with `defaults` (what a field without a
    /// version reads, the longest TTL it may declare).
    pub(crate) fn of(
        &self,
        declaration: &Declaration,
        vars: &Vars,
        defaults: PlanDefaults<'_>,
    ) -> Result<Arc<Plan>, Error> {
        let key = Self::key(declaration, vars);
        if let Some(plan) = self.table.load().get(&key) {
            return Ok(Arc::clone(plan));
        }
        self.build(declaration, key, vars, defaults)
    }

    /// Calls `f` with `T`'s plan under `vars`, borrowed from the table (no reference count on
    /// the warm path), built first if needed.
    pub(crate) fn with<R>(
        &self,
        declaration: &Declaration,
        vars: &Vars,
        defaults: PlanDefaults<'_>,
        f: impl FnOnce(&Plan) -> R,
    ) -> Result<R, Error> {
        let key = Self::key(declaration, vars);
        if let Some(plan) = self.table.load().get(&key) {
            return Ok(f(plan));
        }
        Ok(f(&*self.build(declaration, key, vars, defaults)?))
    }

    fn key(declaration: &Declaration, vars: &Vars) -> Key {
        let mut values = vars.placeholder_values(declaration.ids);
        if !declaration.roles.is_empty() {
            values.extend(vars.placeholder_values(declaration.roles));
        }
        Key {
            ty: declaration.ty,
            values,
        }
    }

    /// Builds `T`'s plan and adds it to the table under `key`.
    fn build(
        &self,
        declaration: &Declaration,
        key: Key,
        vars: &Vars,
        defaults: PlanDefaults<'_>,
    ) -> Result<Arc<Plan>, Error> {
        let plan = Arc::new(Plan::of(declaration, vars.clone(), defaults)?);
        let _writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut table = if self.table.load().len() >= MAX_PLANS {
            Table::default()
        } else {
            Table::clone(&self.table.load())
        };
        table.insert(key, Arc::clone(&plan));
        self.table.store(Arc::new(table));
        Ok(plan)
    }
}
