//! One database thread per file in this process. Logging in again (after
//! a refused login, a kick or a logout) opens the account's file again while
//! the last session's thread may still be finishing it, and two writers on
//! one file fail each other: a transaction that read before it wrote gets
//! "database is locked" at once, without waiting, while the other one holds
//! the write lock (its closing checkpoint, for one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;

use crate::SdkError;

struct OpenFile<T> {
    handle: Weak<T>,
    /// Ends after the last handle is gone and the file is closed.
    thread: Option<JoinHandle<()>>,
}

/// Open files by their canonical path.
pub(super) struct OpenFiles<T> {
    files: OnceLock<Mutex<HashMap<PathBuf, OpenFile<T>>>>,
}

impl<T> OpenFiles<T> {
    pub(super) const fn new() -> OpenFiles<T> {
        OpenFiles {
            files: OnceLock::new(),
        }
    }

    /// The live handle of `path`, or a new one from `open` (which returns
    /// the handle and the thread that owns the file) once the last thread
    /// on it has ended.
    pub(super) fn get_or_open(
        &self,
        path: &Path,
        open: impl FnOnce() -> Result<(Arc<T>, JoinHandle<()>), SdkError>,
    ) -> Result<Arc<T>, SdkError> {
        let key = canonical(path)?;
        let mut files = self
            .files
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| SdkError::Stopped)?;
        files.retain(|_, f| f.handle.strong_count() > 0 || !finished(&f.thread));
        if let Some(file) = files.get_mut(&key) {
            if let Some(handle) = file.handle.upgrade() {
                return Ok(handle);
            }
            // Its last handle is gone: the thread finishes the queued jobs
            // and closes the file, soon.
            if let Some(thread) = file.thread.take() {
                let _ = thread.join();
            }
        }
        let (handle, thread) = open()?;
        files.insert(
            key,
            OpenFile {
                handle: Arc::downgrade(&handle),
                thread: Some(thread),
            },
        );
        Ok(handle)
    }
}

fn finished(thread: &Option<JoinHandle<()>>) -> bool {
    thread.as_ref().is_none_or(|t| t.is_finished())
}

/// The same file under any spelling of its path (the directory must exist).
fn canonical(path: &Path) -> Result<PathBuf, SdkError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| SdkError::LocalStore(e.to_string()))?;
    Ok(match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    })
}
