//! Statements that bind borrowed text without SQLite copying it.
//!
//! rusqlite binds every non-empty string as `SQLITE_TRANSIENT`, so SQLite
//! copies it into a buffer of its own (an allocation and a copy per
//! column) before the statement runs, and copies it once more into the
//! row. For the store's writer, which binds 23 values a message, the
//! binding was 29 % of its instructions. A [`BorrowingStatement`] binds
//! text as `SQLITE_STATIC` instead: [`BorrowingStatement::run`] borrows
//! the values for the call only, and clears every binding before it
//! returns, so SQLite never holds a pointer past the borrow.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_int, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use rusqlite::{ffi, Connection};

/// One bound value.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// A statement prepared on `'c`'s connection, run to its end each time
/// (an `INSERT`, `UPDATE` or `DELETE`; a statement that returns rows is
/// refused when it runs).
pub struct BorrowingStatement<'c> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    parameters: usize,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> BorrowingStatement<'c> {
    /// Prepares one statement for repeated use (`SQLITE_PREPARE_PERSISTENT`).
    pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<BorrowingStatement<'c>> {
        // SAFETY: the handle is only used while `conn` is borrowed ('c).
        let db = unsafe { conn.handle() };
        let db =
            NonNull::new(db).ok_or_else(|| failure(ffi::SQLITE_MISUSE, "closed connection"))?;
        let length = c_int::try_from(sql.len())
            .map_err(|_| failure(ffi::SQLITE_TOOBIG, "statement too long"))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `sql` is valid for `length` bytes; SQLite writes `stmt`.
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                db.as_ptr(),
                sql.as_ptr().cast(),
                length,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(last_error(db, code));
        }
        let stmt =
            NonNull::new(stmt).ok_or_else(|| failure(ffi::SQLITE_MISUSE, "empty statement"))?;
        // SAFETY: `stmt` is a live statement of `db`.
        let parameters = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) };
        Ok(BorrowingStatement {
            stmt,
            db,
            parameters: parameters.max(0) as usize,
            _conn: PhantomData,
        })
    }

    /// The same statement, no longer tied to the borrow of its connection;
    /// only for [`PreparedConnection`], which keeps the connection open
    /// for as long as its statements live.
    fn unbound(self) -> BorrowingStatement<'static> {
        let this = std::mem::ManuallyDrop::new(self);
        BorrowingStatement {
            stmt: this.stmt,
            db: this.db,
            parameters: this.parameters,
            _conn: PhantomData,
        }
    }

    /// Binds `values` to the parameters in order (there must be exactly one
    /// per parameter), runs the statement to its end and answers how many
    /// rows it changed.
    pub fn run(&mut self, values: &[Value<'_>]) -> rusqlite::Result<u64> {
        if values.len() != self.parameters {
            return Err(failure(
                ffi::SQLITE_RANGE,
                &format!("{} values for {} parameters", values.len(), self.parameters),
            ));
        }
        let outcome = self.bind(values).and_then(|()| self.step());
        // SAFETY: `stmt` is live. Reset ends the run (its code repeats the
        // step's error, already taken); clearing drops every pointer into
        // `values` before the borrow ends.
        unsafe {
            ffi::sqlite3_reset(self.stmt.as_ptr());
            ffi::sqlite3_clear_bindings(self.stmt.as_ptr());
        }
        outcome
    }

    fn bind(&mut self, values: &[Value<'_>]) -> rusqlite::Result<()> {
        let stmt = self.stmt.as_ptr();
        for (i, value) in values.iter().enumerate() {
            let index = (i + 1) as c_int;
            // SAFETY: `stmt` is live and `index` is within its parameters.
            // Text is bound without a copy (SQLITE_STATIC); `run` clears
            // the binding before `values` can go away.
            let code = unsafe {
                match *value {
                    Value::Int(n) => ffi::sqlite3_bind_int64(stmt, index, n),
                    Value::Text(s) => ffi::sqlite3_bind_text64(
                        stmt,
                        index,
                        s.as_ptr().cast(),
                        s.len() as ffi::sqlite3_uint64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                }
            };
            if code != ffi::SQLITE_OK {
                return Err(last_error(self.db, code));
            }
        }
        Ok(())
    }

    fn step(&mut self) -> rusqlite::Result<u64> {
        // SAFETY: `stmt` is live with every parameter bound.
        let code = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
        match code {
            // SAFETY: `db` is live while 'c lasts.
            ffi::SQLITE_DONE => {
                Ok(unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) }.max(0) as u64)
            }
            ffi::SQLITE_ROW => Err(rusqlite::Error::ExecuteReturnedResults),
            code => Err(last_error(self.db, code)),
        }
    }
}

/// A connection with the statements of its owner's hot path, prepared
/// once when it is made and run by the index of their SQL in
/// [`PreparedConnection::new`]'s list. For a thread that owns its
/// connection: its statements cannot borrow a connection it also owns.
pub struct PreparedConnection {
    // Declared before `conn`: they are finalized before it closes.
    statements: RefCell<Vec<BorrowingStatement<'static>>>,
    conn: Connection,
}

impl PreparedConnection {
    /// Prepares every statement of `sql` on `conn`.
    pub fn new(conn: Connection, sql: &[&str]) -> rusqlite::Result<PreparedConnection> {
        let mut statements = Vec::with_capacity(sql.len());
        for text in sql {
            // The statement outlives this borrow but not the connection: the
            // two move together into the struct, whose field order finalizes
            // every statement before the connection closes. Moving a
            // `Connection` leaves its SQLite handle where it is.
            statements.push(BorrowingStatement::prepare(&conn, text)?.unbound());
        }
        Ok(PreparedConnection {
            statements: RefCell::new(statements),
            conn,
        })
    }

    /// Runs the statement prepared from `sql[index]` (see [`BorrowingStatement::run`]).
    pub fn run(&self, index: usize, values: &[Value<'_>]) -> rusqlite::Result<u64> {
        let mut statements = self
            .statements
            .try_borrow_mut()
            .map_err(|_| failure(ffi::SQLITE_MISUSE, "statement run inside another"))?;
        let statement = statements
            .get_mut(index)
            .ok_or_else(|| failure(ffi::SQLITE_RANGE, &format!("no prepared statement {index}")))?;
        statement.run(values)
    }
}

// SAFETY: the statements move with the connection they were prepared on
// and are used only through it, from one thread at a time (the struct is
// not `Sync`); SQLite (built thread-safe) allows a connection and its
// statements to change threads, as rusqlite's `Connection` does.
unsafe impl Send for PreparedConnection {}

impl std::ops::Deref for PreparedConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for BorrowingStatement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

fn failure(code: c_int, message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message.to_owned()))
}

/// The connection's error message for `code`.
fn last_error(db: NonNull<ffi::sqlite3>, code: c_int) -> rusqlite::Error {
    // SAFETY: `db` is live; SQLite's message is a NUL-terminated string
    // valid until the next call on the connection, copied here.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db.as_ptr());
        (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)",
        )
        .unwrap();
        conn
    }

    #[test]
    fn binds_text_and_integers_and_counts_changes() {
        let conn = table();
        let mut insert = BorrowingStatement::prepare(
            &conn,
            "INSERT OR IGNORE INTO t (name, n) VALUES (?1, ?2), (?3, ?4)",
        )
        .unwrap();
        for round in 0..3 {
            // Text that lives only for this round: the statement must not
            // keep it past `run`.
            let (a, b) = (format!("a{round}"), format!("b{round}-ü"));
            let changed = insert
                .run(&[
                    Value::Text(&a),
                    Value::Int(round),
                    Value::Text(&b),
                    Value::Int(-round),
                ])
                .unwrap();
            assert_eq!(changed, 2);
        }
        let again = String::from("a1");
        let changed = insert
            .run(&[
                Value::Text(&again),
                Value::Int(7),
                Value::Text("new"),
                Value::Int(8),
            ])
            .unwrap();
        assert_eq!(
            changed, 1,
            "the existing name is ignored, the new one inserted"
        );
        let rows: Vec<(String, i64)> = conn
            .prepare("SELECT name, n FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[3], ("b1-ü".to_owned(), -1));
        assert_eq!(rows.len(), 7);
    }

    #[test]
    fn a_prepared_connection_runs_its_statements_by_index_and_is_still_a_connection() {
        let prepared = PreparedConnection::new(
            table(),
            &[
                "INSERT INTO t (name, n) VALUES (?1, ?2)",
                "UPDATE t SET n = n + ?2 WHERE name = ?1",
            ],
        )
        .unwrap();
        let name = String::from("a");
        assert_eq!(
            prepared
                .run(0, &[Value::Text(&name), Value::Int(1)])
                .unwrap(),
            1
        );
        drop(name);
        assert_eq!(
            prepared
                .run(1, &[Value::Text("a"), Value::Int(41)])
                .unwrap(),
            1
        );
        assert_eq!(
            prepared.run(1, &[Value::Text("b"), Value::Int(1)]).unwrap(),
            0
        );
        assert!(prepared.run(2, &[]).is_err(), "no third statement");
        let n: i64 = prepared
            .query_row("SELECT n FROM t WHERE name = 'a'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 42);
        assert_eq!(prepared.last_insert_rowid(), 1);
        assert!(PreparedConnection::new(table(), &["INSERT INTO missing VALUES (1)"]).is_err());
    }

    #[test]
    fn wrong_value_counts_and_constraint_errors_are_errors_and_leave_it_usable() {
        let conn = table();
        let mut insert =
            BorrowingStatement::prepare(&conn, "INSERT INTO t (name, n) VALUES (?1, ?2)").unwrap();
        let err = insert.run(&[Value::Text("x")]).unwrap_err();
        assert!(
            err.to_string().contains("1 values for 2 parameters"),
            "{err}"
        );
        insert.run(&[Value::Text("x"), Value::Int(1)]).unwrap();
        let err = insert.run(&[Value::Text("x"), Value::Int(2)]).unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        assert_eq!(insert.run(&[Value::Text("y"), Value::Int(3)]).unwrap(), 1);
        assert!(BorrowingStatement::prepare(&conn, "INSERT INTO missing VALUES (?1)").is_err());
        assert!(BorrowingStatement::prepare(&conn, "   ").is_err());
        let mut select = BorrowingStatement::prepare(&conn, "SELECT name FROM t").unwrap();
        assert!(matches!(
            select.run(&[]),
            Err(rusqlite::Error::ExecuteReturnedResults)
        ));
    }
}
