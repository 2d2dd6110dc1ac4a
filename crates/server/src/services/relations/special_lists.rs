//! Every P2P send asks whether the recipient blacklisted the sender, and
//! every delivery whether the recipient muted it: the answers come from
//! memory, without an allocation per question. A node forgets an owner's
//! lists at once when it changes them; a change made on another node is
//! seen here within [`SPECIAL_LIST_TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings_store::{Store, BLACKLIST, MUTE};

use crate::ServiceError;

pub const SPECIAL_LIST_TTL: Duration = Duration::from_secs(2);
/// Owners held in memory at most; past it the cache starts over.
const MAX_OWNERS: usize = 100_000;

/// When a list was read, and the list.
type Held = Option<(Instant, Arc<HashSet<String>>)>;

/// An owner's lists, by relation: the blacklist, the mute list.
#[derive(Default)]
struct OwnerLists([Held; 2]);

fn slot(relation: u32) -> Option<usize> {
    match relation {
        BLACKLIST => Some(0),
        MUTE => Some(1),
        _ => None,
    }
}

#[derive(Default)]
struct Cache {
    /// app → owner → lists.
    apps: HashMap<String, HashMap<String, OwnerLists>>,
    owners: usize,
}

pub struct SpecialLists {
    store: Arc<dyn Store>,
    cache: Mutex<Cache>,
}

impl SpecialLists {
    pub fn new(store: Arc<dyn Store>) -> SpecialLists {
        SpecialLists {
            store,
            cache: Mutex::new(Cache::default()),
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
        let Some(at) = slot(relation) else {
            return Ok(false);
        };
        if let Some(held) = self.held(app_key, owner, at) {
            return Ok(held.contains(target));
        }
        let list: Arc<HashSet<String>> = Arc::new(
            self.store
                .listed(app_key, owner, relation)
                .await?
                .into_iter()
                .collect(),
        );
        let listed = list.contains(target);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.owners >= MAX_OWNERS {
                *cache = Cache::default();
            }
            let cache = &mut *cache;
            let app = cache.apps.entry(app_key.to_owned()).or_default();
            let lists = match app.get_mut(owner) {
                Some(lists) => lists,
                None => {
                    cache.owners += 1;
                    app.entry(owner.to_owned()).or_default()
                }
            };
            lists.0[at] = Some((Instant::now(), list));
        }
        Ok(listed)
    }

    fn held(&self, app_key: &str, owner: &str, at: usize) -> Option<Arc<HashSet<String>>> {
        let cache = self.cache.lock().ok()?;
        let (read, list) = cache.apps.get(app_key)?.get(owner)?.0[at].as_ref()?;
        (read.elapsed() < SPECIAL_LIST_TTL).then(|| list.clone())
    }

    /// `owner`'s list `relation` changed on this node.
    pub fn forget(&self, app_key: &str, owner: &str, relation: u32) {
        let Some(at) = slot(relation) else { return };
        if let Ok(mut cache) = self.cache.lock() {
            if let Some(lists) = cache
                .apps
                .get_mut(app_key)
                .and_then(|app| app.get_mut(owner))
            {
                lists.0[at] = None;
            }
        }
    }
}
