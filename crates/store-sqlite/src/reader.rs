//! A small pool of read-only connections; WAL lets them read while the
//! writer commits.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::Connection;
use tidings_store::{StoreError, StoreResult};

use crate::{backend, schema};

pub struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub fn new(path: PathBuf) -> ReaderPool {
        ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = match self.idle.lock().map_err(backend)?.pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.path).map_err(backend)?;
                schema::configure_reader(&conn).map_err(backend)?;
                conn
            }
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(|_| StoreError::Closed)?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result.map_err(backend)
    }
}
