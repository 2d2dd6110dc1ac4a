use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::connection::{self, Command, Shared};
use crate::local_store::{ops, LocalStore};
use crate::managers::{
    ChatManager, ConversationManager, LoginManager, NotificationManager, RelationManager,
    UserManager,
};
use crate::{ClientConfig, Event, SdkError};

const EVENT_CAPACITY: usize = 16 * 1024;

/// One account's client. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub config: ClientConfig,
    pub events: broadcast::Sender<Event>,
    pub active: Mutex<Option<Active>>,
}

/// The account a login (or auto-login) opened.
pub(crate) struct Active {
    pub shared: Arc<Shared>,
    pub commands: mpsc::UnboundedSender<Command>,
    pub task: JoinHandle<()>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, SdkError> {
        if config.app_key.trim().is_empty() {
            return Err(SdkError::InvalidParameter("appKey is required".into()));
        }
        if config.data_dir.as_os_str().is_empty() {
            return Err(SdkError::InvalidParameter("dataDir is required".into()));
        }
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(Client {
            inner: Arc::new(ClientInner {
                config,
                events,
                active: Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Every event from now on. A receiver that falls more than 16k events
    /// behind loses the oldest (tokio broadcast semantics).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub fn login(&self) -> LoginManager<'_> {
        LoginManager { client: self }
    }

    pub fn chat(&self) -> ChatManager<'_> {
        ChatManager { client: self }
    }

    pub fn user(&self) -> UserManager<'_> {
        UserManager { client: self }
    }

    /// Friends, the blacklist and the mute list (NIM's friend manager).
    pub fn relation(&self) -> RelationManager<'_> {
        RelationManager { client: self }
    }

    /// System and custom notifications.
    pub fn system_notification(&self) -> NotificationManager<'_> {
        NotificationManager { client: self }
    }

    pub fn conversation(&self) -> ConversationManager<'_> {
        ConversationManager { client: self }
    }

    pub(crate) fn shared(&self) -> Result<Arc<Shared>, SdkError> {
        self.inner
            .active
            .lock()
            .ok()
            .and_then(|a| a.as_ref().map(|a| a.shared.clone()))
            .ok_or(SdkError::NotLoggedIn)
    }

    /// Sends one request on the connection and waits for its answer (the
    /// response's area; none for a bare "ok"): the one way every manager
    /// asks the server something. Needs a connection.
    pub(crate) async fn call(
        &self,
        request: impl Into<tidings_proto::request::Area>,
    ) -> Result<Option<tidings_proto::response::Area>, SdkError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.command(Command::Call(Box::new(request.into()), reply))?;
        match tokio::time::timeout(self.config().request_timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(SdkError::Connection(
                "the connection ended before the answer".into(),
            )),
            Err(_) => Err(SdkError::Timeout),
        }
    }

    pub(crate) fn command(&self, command: Command) -> Result<(), SdkError> {
        let guard = self.inner.active.lock().map_err(|_| SdkError::Stopped)?;
        let active = guard.as_ref().ok_or(SdkError::NotLoggedIn)?;
        active.commands.send(command).map_err(|_| SdkError::Stopped)
    }

    fn account_dir(&self, account: &str) -> PathBuf {
        self.inner
            .config
            .data_dir
            .join(path_component(&self.inner.config.app_key))
            .join(path_component(account))
    }

    /// Opens the account's database and starts the connection task. With
    /// `first_login`, the task reports the first login's outcome there and
    /// gives up if it fails; without, it retries until it gets in.
    pub(crate) async fn start(
        &self,
        account: &str,
        token: &str,
        first_login: Option<oneshot::Sender<Result<(), SdkError>>>,
        forced: bool,
    ) -> Result<(), SdkError> {
        if account.is_empty() || token.is_empty() {
            return Err(SdkError::InvalidParameter(
                "account and token are required".into(),
            ));
        }
        if let Some(active) = self
            .inner
            .active
            .lock()
            .map_err(|_| SdkError::Stopped)?
            .as_ref()
        {
            if !active.task.is_finished() {
                return Err(SdkError::server(
                    417,
                    format!("already logged in as '{}'", active.shared.account),
                ));
            }
        }
        let dir = self.account_dir(account);
        let db = LocalStore::open(&dir.join("local.db"), account)?;
        let device_id = device_id(&self.inner.config.data_dir)?;
        let outbox = db.run(ops::pending_outgoing).await?;
        let shared = Arc::new(Shared {
            config: self.inner.config.clone(),
            account: account.to_owned(),
            token: token.to_owned(),
            device_id,
            db,
            events: self.inner.events.clone(),
            logged_in: AtomicBool::new(false),
            waiters: Mutex::new(HashMap::new()),
            other_clients: Mutex::new(Vec::new()),
        });
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = connection::spawn(shared.clone(), receiver, outbox, first_login, forced);
        let mut active = self.inner.active.lock().map_err(|_| SdkError::Stopped)?;
        if let Some(old) = active.take() {
            old.task.abort();
        }
        *active = Some(Active {
            shared,
            commands,
            task,
        });
        Ok(())
    }

    pub(crate) fn is_logged_in(&self) -> bool {
        self.shared()
            .map(|s| s.logged_in.load(Ordering::SeqCst))
            .unwrap_or(false)
    }

    pub(crate) fn take_active(&self) -> Option<Active> {
        self.inner.active.lock().ok().and_then(|mut a| a.take())
    }
}

/// A directory name for an app key or account: as is when that is safe,
/// otherwise hex, so no id can climb out of the data directory.
fn path_component(id: &str) -> String {
    let plain = !id.is_empty()
        && !id.chars().all(|c| c == '.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c));
    if plain {
        id.to_owned()
    } else {
        format!(
            "x-{}",
            id.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

/// A stable id for this installation, kept in the data directory.
fn device_id(data_dir: &std::path::Path) -> Result<String, SdkError> {
    let path = data_dir.join("device-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_owned());
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|e| SdkError::LocalStore(e.to_string()))?;
    let id = connection::new_message_id();
    std::fs::write(&path, &id).map_err(|e| SdkError::LocalStore(e.to_string()))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_components_never_escape() {
        assert_eq!(super::path_component("alice"), "alice");
        assert_eq!(super::path_component(".."), "x-2e2e");
        assert_eq!(super::path_component("a/b"), "x-612f62");
        assert_eq!(super::path_component(""), "x-");
    }
}
