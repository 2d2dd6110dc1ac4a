//! Every P2P send asks whether the recipient blacklisted the sender, and
//! every delivery whether the recipient muted it: the answers come from
//! memory. A node forgets an owner's lists at once when it changes them; a
//! change made on another node is seen here within [`SPECIAL_LIST_TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings_store::Store;

use crate::ServiceError;

pub const SPECIAL_LIST_TTL: Duration = Duration::from_secs(2);
/// Lists held in memory at most; past it the cache starts over.
const MAX_LISTS: usize = 100_000;

/// (owner, relation) → when read, and the list.
type Lists = HashMap<String, HashMap<(String, u32), (Instant, Arc<HashSet<String>>)>>;

pub struct SpecialLists {
    store: Arc<dyn Store>,
    lists: Mutex<(Lists, usize)>,
}

impl SpecialLists {
    pub fn new(store: Arc<dyn Store>) -> SpecialLists {
        SpecialLists {
            store,
            lists: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Whether `owner` has `target` on its list `relation` (blacklist or
    /// mute list).
    pub async fn contains(
        &self,
        app_key: &str,
        owner: &str,
        relation: u32,
        target: &str,
    ) -> Result<bool, ServiceError> {
        if let Some(list) = self.held(app_key, owner, relation) {
            return Ok(list.contains(target));
        }
        let list: Arc<HashSet<String>> = Arc::new(
            self.store
                .listed(app_key, owner, relation)
                .await?
                .into_iter()
                .collect(),
        );
        let listed = list.contains(target);
        if let Ok(mut guard) = self.lists.lock() {
            let (lists, count) = &mut *guard;
            if *count >= MAX_LISTS {
                lists.clear();
                *count = 0;
            }
            let app = lists.entry(app_key.to_owned()).or_default();
            if app
                .insert((owner.to_owned(), relation), (Instant::now(), list))
                .is_none()
            {
                *count += 1;
            }
        }
        Ok(listed)
    }

    fn held(&self, app_key: &str, owner: &str, relation: u32) -> Option<Arc<HashSet<String>>> {
        let guard = self.lists.lock().ok()?;
        let (at, list) = guard.0.get(app_key)?.get(&(owner.to_owned(), relation))?;
        (at.elapsed() < SPECIAL_LIST_TTL).then(|| list.clone())
    }

    /// `owner`'s list `relation` changed on this node.
    pub fn forget(&self, app_key: &str, owner: &str, relation: u32) {
        if let Ok(mut guard) = self.lists.lock() {
            let (lists, count) = &mut *guard;
            if let Some(app) = lists.get_mut(app_key) {
                if app.remove(&(owner.to_owned(), relation)).is_some() {
                    *count -= 1;
                }
            }
        }
    }
}
