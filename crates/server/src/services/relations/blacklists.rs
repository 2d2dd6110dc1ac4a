//! Every P2P send asks whether the recipient blacklisted the sender: the
//! answer comes from memory. A node forgets an owner's list at once when
//! it changes the list; a change made on another node is seen here within
//! [`BLACKLIST_TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings_store::{Store, BLACKLIST};

use crate::ServiceError;

pub const BLACKLIST_TTL: Duration = Duration::from_secs(2);
/// Owners held in memory at most; past it the cache starts over.
const MAX_OWNERS: usize = 100_000;

type Lists = HashMap<String, HashMap<String, (Instant, Arc<HashSet<String>>)>>;

pub struct Blacklists {
    store: Arc<dyn Store>,
    lists: Mutex<Lists>,
    owners: Mutex<usize>,
}

impl Blacklists {
    pub fn new(store: Arc<dyn Store>) -> Blacklists {
        Blacklists {
            store,
            lists: Mutex::new(HashMap::new()),
            owners: Mutex::new(0),
        }
    }

    /// Whether `owner` has `sender` on its blacklist.
    pub async fn blocks(
        &self,
        app_key: &str,
        owner: &str,
        sender: &str,
    ) -> Result<bool, ServiceError> {
        if let Some(list) = self.held(app_key, owner) {
            return Ok(list.contains(sender));
        }
        let list: Arc<HashSet<String>> = Arc::new(
            self.store
                .listed(app_key, owner, BLACKLIST)
                .await?
                .into_iter()
                .collect(),
        );
        let blocked = list.contains(sender);
        if let (Ok(mut lists), Ok(mut owners)) = (self.lists.lock(), self.owners.lock()) {
            if *owners >= MAX_OWNERS {
                lists.clear();
                *owners = 0;
            }
            let app = lists.entry(app_key.to_owned()).or_default();
            if app
                .insert(owner.to_owned(), (Instant::now(), list))
                .is_none()
            {
                *owners += 1;
            }
        }
        Ok(blocked)
    }

    fn held(&self, app_key: &str, owner: &str) -> Option<Arc<HashSet<String>>> {
        let lists = self.lists.lock().ok()?;
        let (at, list) = lists.get(app_key)?.get(owner)?;
        (at.elapsed() < BLACKLIST_TTL).then(|| list.clone())
    }

    /// `owner`'s list changed on this node.
    pub fn forget(&self, app_key: &str, owner: &str) {
        if let Ok(mut lists) = self.lists.lock() {
            if let Some(app) = lists.get_mut(app_key) {
                app.remove(owner);
            }
        }
    }
}
