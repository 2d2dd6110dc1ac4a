//! One `write` a commit into the WAL, instead of two a page.
//!
//! SQLite appends each dirty page to the WAL as a 24-byte frame header and
//! then the page, one `pwrite` each. A local commit of a few rows dirties
//! some 8 to 18 pages of 1 KiB, so the system calls, not the bytes, were
//! the cost: `pwrite` was about 14 % of all CPU at 10,000 msgs/s offered.
//!
//! This VFS is the platform's default one with a single change for WAL
//! files: contiguous writes collect in a buffer that goes to the file in
//! one write when the commit frame is complete (its header carries the
//! database size, which only a commit frame does), before any other
//! operation on that file (read, sync, size, truncate, close, ...), when a
//! write does not continue the buffer, or when the buffer passes
//! [`MAX_BUFFERED`]. Every other file is the default VFS's own, untouched.
//!
//! Why that keeps every guarantee: other connections only read frames
//! that the WAL index says are committed, and SQLite updates the index
//! after the last frame's write returns. By then the whole transaction is
//! in the file, as before. An error writing the buffer is the error of the
//! write that sent it, so the transaction fails as it would have. `fsync`
//! (in `synchronous=FULL`) syncs after the buffer was written, so
//! durability is unchanged.
//!
//! Two rules keep published frames from waiting in the buffer. The
//! connection runs with `cache_spill=OFF` ([`crate::open_writer`]), so all
//! of a transaction's frames are written at its commit, none earlier: a
//! rolled-back transaction leaves nothing behind in the buffer that a later
//! write could put over another writer's frames. And a write before the
//! end of the last commit written here (SQLite rewriting the checksums of
//! frames it has just written) goes straight to the file.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The VFS name to open a writing connection with.
pub const VFS_NAME: &str = "tidings-coalesce";
const VFS_NAME_C: &CStr = c"tidings-coalesce";

/// Past this many buffered bytes (a large transaction) the buffer is
/// written out before the commit frame.
pub const MAX_BUFFERED: usize = 1 << 20;

const FRAME_HEADER: usize = 24;

/// The most one call of the unix VFS's `xWrite` takes: it masks the length
/// to 17 bits (writes of a page or two are all it expects).
const MAX_WRITE: usize = 1 << 16;

/// Registers the VFS once per process; later calls answer the first result.
pub fn register() -> Result<&'static str, c_int> {
    static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: sqlite3_initialize and sqlite3_vfs_find may be called
            // at any time; the default VFS lives as long as the process.
            unsafe {
                let rc = ffi::sqlite3_initialize();
                if rc != ffi::SQLITE_OK {
                    return Err(rc);
                }
                let default = ffi::sqlite3_vfs_find(std::ptr::null());
                if default.is_null() {
                    return Err(ffi::SQLITE_ERROR);
                }
                let _ = DEFAULT_VFS.set(default as usize);
                // The default VFS's own functions and app data (the unix
                // VFS keeps its locking style there), as SQLite's own VFS
                // variants do; only `xOpen` and the file size differ.
                let mut vfs: ffi::sqlite3_vfs = *default;
                vfs.zName = VFS_NAME_C.as_ptr();
                vfs.pNext = std::ptr::null_mut();
                vfs.szOsFile = (wal_file_size() + (*default).szOsFile as usize) as c_int;
                vfs.xOpen = Some(open);
                let vfs = Box::leak(Box::new(vfs));
                let rc = ffi::sqlite3_vfs_register(vfs, 0);
                if rc != ffi::SQLITE_OK {
                    return Err(rc);
                }
            }
            Ok(())
        })
        .map(|()| VFS_NAME)
}

static DEFAULT_VFS: OnceLock<usize> = OnceLock::new();

/// A WAL file: the default VFS's file follows this header in the same
/// allocation (SQLite allocates `szOsFile` bytes and never moves them).
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    buffer: Vec<u8>,
    /// File offset of `buffer[0]`.
    buffer_at: i64,
    /// The last frame header buffered belongs to a commit frame.
    commit_frame: bool,
    /// Where the last commit written through this file ends.
    committed_end: i64,
}

impl WalFile {
    fn buffer_end(&self) -> i64 {
        self.buffer_at + self.buffer.len() as i64
    }
}

/// The header's size, rounded up so the default file after it is aligned.
const fn wal_file_size() -> usize {
    let align = 16;
    std::mem::size_of::<WalFile>().div_ceil(align) * align
}

fn default_vfs() -> *mut ffi::sqlite3_vfs {
    DEFAULT_VFS.get().copied().unwrap_or(0) as *mut ffi::sqlite3_vfs
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let default = default_vfs();
    let Some(default_open) = (unsafe { default.as_ref() }).and_then(|vfs| vfs.xOpen) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // SAFETY: `file` has room for the default VFS's file (szOsFile is
        // larger), and SQLite then uses it through the default methods.
        return unsafe { default_open(default, name, file, flags, out_flags) };
    }
    // SAFETY: `file` points to szOsFile bytes: our header, then the
    // default VFS's file at `wal_file_size()` bytes in.
    unsafe {
        let inner = (file as *mut u8).add(wal_file_size()) as *mut ffi::sqlite3_file;
        (*inner).pMethods = std::ptr::null();
        let rc = default_open(default, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            if let Some(close) = (*inner).pMethods.as_ref().and_then(|m| m.xClose) {
                close(inner);
            }
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        std::ptr::write(
            file as *mut WalFile,
            WalFile {
                base: ffi::sqlite3_file {
                    pMethods: &WAL_METHODS,
                },
                inner,
                buffer: Vec::new(),
                buffer_at: 0,
                commit_frame: false,
                committed_end: 0,
            },
        );
    }
    ffi::SQLITE_OK
}

/// Version 2: no memory-mapped reads (SQLite maps database files only).
static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 2,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: None,
    xUnfetch: None,
};

/// # Safety
/// `file` was opened by [`open`] as a WAL file and not closed.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *(file as *mut WalFile) }
}

fn methods(wal: &WalFile) -> &ffi::sqlite3_io_methods {
    // SAFETY: the default VFS set the inner file's methods when it opened
    // it, and they are static.
    unsafe { &*(*wal.inner).pMethods }
}

/// One call of the default file's `xWrite`.
///
/// # Safety
/// `data` holds `amount` readable bytes.
unsafe fn write_through(wal: &WalFile, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    match methods(wal).xWrite {
        // SAFETY: the inner file is open; the caller vouches for `data`.
        Some(write) => unsafe { write(wal.inner, data, amount, offset) },
        None => ffi::SQLITE_IOERR_WRITE,
    }
}

/// Writes the buffer out, in as few calls of the default file's `xWrite`
/// as it takes.
fn flush(wal: &mut WalFile) -> c_int {
    let mut rc = ffi::SQLITE_OK;
    let mut at = wal.buffer_at;
    for chunk in wal.buffer.chunks(MAX_WRITE) {
        // SAFETY: the chunk is initialised bytes of the buffer, fewer than
        // MAX_WRITE of them.
        rc = unsafe {
            write_through(
                wal,
                chunk.as_ptr() as *const c_void,
                chunk.len() as c_int,
                at,
            )
        };
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    wal.buffer.clear();
    wal.commit_frame = false;
    rc
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let wal = unsafe { wal(file) };
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    if offset == 0 {
        // The WAL header: the log starts over, nothing before is published.
        wal.committed_end = 0;
    }
    if offset < wal.committed_end {
        // Rewriting frames of a commit already complete (their checksums):
        // straight to the file, as SQLite publishes the commit next.
        let rc = flush(wal);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: the same arguments SQLite gave.
        return unsafe { write_through(wal, data, amount, offset) };
    }
    if !wal.buffer.is_empty() && offset != wal.buffer_end() {
        let rc = flush(wal);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if wal.buffer.is_empty() {
        wal.buffer_at = offset;
    }
    // SAFETY: SQLite passes `amount` readable bytes at `data`.
    let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
    wal.buffer.extend_from_slice(bytes);
    if len == FRAME_HEADER {
        // Bytes 4..8 of a frame header: the database size in pages after
        // the commit for a commit frame, zero for any other frame.
        wal.commit_frame = bytes[4..8] != [0, 0, 0, 0];
        return ffi::SQLITE_OK;
    }
    if wal.commit_frame {
        let end = wal.buffer_end();
        let rc = flush(wal);
        if rc == ffi::SQLITE_OK {
            wal.committed_end = end;
        }
        return rc;
    }
    if wal.buffer.len() >= MAX_BUFFERED {
        return flush(wal);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let wal = unsafe { wal(file) };
    let flushed = flush(wal);
    let closed = match methods(wal).xClose {
        // SAFETY: the inner file is open; it is closed once, here.
        Some(close) => unsafe { close(wal.inner) },
        None => ffi::SQLITE_OK,
    };
    // SAFETY: written by `open`; SQLite frees the memory after xClose.
    unsafe { std::ptr::drop_in_place(file as *mut WalFile) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

/// The default file's method `$name`, after the buffer is written out.
macro_rules! after_flush {
    ($fn_name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $fn_name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let wal = unsafe { wal(file) };
            let rc = flush(wal);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match methods(wal).$method {
                // SAFETY: the same arguments SQLite gave, for the inner file.
                Some(method) => unsafe { method(wal.inner, $($arg),*) },
                None => $missing,
            }
        }
    };
}

after_flush!(read, xRead, ffi::SQLITE_IOERR_READ, (data: *mut c_void, amount: c_int, offset: i64));
after_flush!(truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
after_flush!(sync, xSync, ffi::SQLITE_IOERR_FSYNC, (flags: c_int));
after_flush!(file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
after_flush!(lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int));
after_flush!(unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int));
after_flush!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int));
after_flush!(file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));
after_flush!(shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (page: c_int, page_size: c_int, extend: c_int, out: *mut *mut c_void));
after_flush!(shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int));
after_flush!(shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int));

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    let wal = unsafe { wal(file) };
    match methods(wal).xSectorSize {
        // SAFETY: the inner file is open.
        Some(method) => unsafe { method(wal.inner) },
        None => 4096,
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    let wal = unsafe { wal(file) };
    match methods(wal).xDeviceCharacteristics {
        // SAFETY: the inner file is open.
        Some(method) => unsafe { method(wal.inner) },
        None => 0,
    }
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let wal = unsafe { wal(file) };
    let _ = flush(wal);
    if let Some(method) = methods(wal).xShmBarrier {
        // SAFETY: the inner file is open.
        unsafe { method(wal.inner) }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::Connection;

    use crate::{open_writer, start, Policy};

    fn writer(path: &Path, synchronous: &str) -> Connection {
        let conn = open_writer(path).expect("open");
        conn.pragma_update(None, "page_size", 1024)
            .expect("page size");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "synchronous", synchronous)
            .expect("synchronous");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v INTEGER NOT NULL); \
             CREATE INDEX t_k ON t (k);",
        )
        .expect("schema");
        conn
    }

    /// Three rows summing to zero: a reader that sees part of a
    /// transaction sees a sum other than zero.
    fn commit(conn: &Connection, n: i64) {
        conn.execute_batch("BEGIN").expect("begin");
        for (i, v) in [(0, n), (1, -2 * n), (2, n)] {
            conn.execute(
                "INSERT INTO t (k, v) VALUES (?1, ?2)",
                rusqlite::params![format!("key-{n:08}-{i}-{}", "x".repeat(40)), v],
            )
            .expect("insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }

    /// Write system calls made by this thread so far.
    fn writes_by_this_thread() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").expect("io");
        io.lines()
            .find_map(|line| line.strip_prefix("syscw: "))
            .and_then(|n| n.trim().parse().ok())
            .expect("syscw")
    }

    #[test]
    fn a_commit_reaches_the_wal_in_one_write() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let conn = writer(&path, "NORMAL");
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .expect("no checkpoints");
        commit(&conn, 0);
        let wal_frames = || {
            let len = std::fs::metadata(dir.path().join("t.db-wal")).map_or(0, |m| m.len());
            len.saturating_sub(32) / (24 + 1024)
        };
        let (frames_before, writes_before) = (wal_frames(), writes_by_this_thread());
        for n in 1..=200 {
            commit(&conn, n);
        }
        let frames = wal_frames() - frames_before;
        let writes = writes_by_this_thread() - writes_before;
        // SQLite alone makes two writes a frame.
        assert!(frames >= 400, "{frames} frames");
        assert!(
            writes <= 200,
            "{writes} writes for 200 commits of {frames} frames"
        );
    }

    #[test]
    fn readers_see_whole_commits_while_the_wal_starts_over() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let mut conn = writer(&path, "NORMAL");
        let policy = Policy {
            interval: Some(std::time::Duration::from_millis(1)),
            nudge_at_frames: 50,
            rewind_at_frames: 200,
            busy_timeout: std::time::Duration::from_secs(5),
        };
        let (checkpointer, wal) = start(&mut conn, &path, policy).expect("checkpointer");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = Connection::open(&path).expect("reader");
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (rows, sum): (i64, i64) = conn
                        .query_row("SELECT count(*), coalesce(sum(v), 0) FROM t", [], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .expect("read");
                    assert_eq!((rows % 3, sum), (0, 0), "a part of a transaction");
                    reads += 1;
                }
                reads
            })
        };
        for n in 1..=3_000 {
            wal.rewind_if_due(&conn);
            commit(&conn, n);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().expect("reader") > 0);
        drop(checkpointer);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(check, "ok");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 9_000);
    }

    #[test]
    fn the_files_as_a_killed_process_leaves_them_hold_every_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let conn = writer(&path, "NORMAL");
        for n in 1..=500 {
            commit(&conn, n);
        }
        // What the operating system holds now, with the writer still
        // open: a process killed here leaves exactly these files.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).expect("copy db");
        std::fs::copy(dir.path().join("t.db-wal"), dir.path().join("copy.db-wal"))
            .expect("copy wal");
        let recovered = Connection::open(&copy).expect("recover");
        let (rows, sum): (i64, i64) = recovered
            .query_row("SELECT count(*), sum(v) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("read");
        assert_eq!((rows, sum), (1_500, 0));
    }

    /// The child's part of the next test: commits until it is killed,
    /// printing the number of each commit once `COMMIT` has returned.
    fn commit_until_killed(path: &Path) -> ! {
        use std::io::Write;
        let conn = writer(path, "NORMAL");
        let mut out = std::io::stdout().lock();
        for n in 1.. {
            commit(&conn, n);
            let _ = writeln!(out, "committed {n}");
            let _ = out.flush();
        }
        unreachable!("commits until killed")
    }

    #[test]
    fn a_writer_process_killed_mid_commit_loses_no_commit() {
        const CHILD: &str = "TIDINGS_COALESCE_KILLED_WRITER";
        if let Some(path) = std::env::var_os(CHILD) {
            commit_until_killed(Path::new(&path));
        }
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "coalesce::tests::a_writer_process_killed_mid_commit_loses_no_commit",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child");
        let stdout = child.stdout.take().expect("stdout");
        let mut acked = 0;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if let Some(n) = line.strip_prefix("committed ") {
                acked = n.parse().expect("number");
                if acked >= 1_500 {
                    break;
                }
            }
        }
        // SIGKILL while it keeps committing: no flush, no close.
        child.kill().expect("kill");
        child.wait().expect("reap");
        assert!(acked >= 1_500, "the child stopped at {acked}");
        let recovered = Connection::open(&path).expect("recover");
        let (rows, sum): (i64, i64) = recovered
            .query_row("SELECT count(*), sum(v) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("read");
        assert!(rows >= 3 * acked, "{rows} rows for {acked} commits");
        assert_eq!((rows % 3, sum), (0, 0));
        let check: String = recovered
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_transaction_larger_than_the_cache_commits_or_rolls_back_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let conn = writer(&path, "FULL");
        conn.pragma_update(None, "cache_size", 20).expect("cache");
        let big = |conn: &Connection, from: i64| {
            conn.execute_batch("BEGIN").expect("begin");
            for n in from..from + 2_000 {
                conn.execute(
                    "INSERT INTO t (k, v) VALUES (?1, 0)",
                    [format!("{n:08}-{}", "y".repeat(200))],
                )
                .expect("insert");
            }
        };
        big(&conn, 0);
        conn.execute_batch("ROLLBACK").expect("rollback");
        big(&conn, 10_000);
        conn.execute_batch("COMMIT").expect("commit");
        commit(&conn, 1);
        let reader = Connection::open(&path).expect("reader");
        let rows: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 2_003);
        let check: String = reader
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(check, "ok");
    }
}
