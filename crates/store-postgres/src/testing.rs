//! A throwaway database per test, created from `TIDINGS_TEST_PG_URL` and
//! dropped (with its connections) when the guard goes.

use tidings_store::StoreResult;

use crate::{backend, connect_client};

pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

/// The address of a service a test needs (`TIDINGS_TEST_PG_URL`,
/// `TIDINGS_TEST_NATS_URL`), or `None` with a note that `what` was skipped.
/// Under CI (`CI` set and not `false`) a missing variable fails the test,
/// so a CI run never passes without its services.
pub fn service_url(var: &str, what: &str) -> Option<String> {
    if let Ok(url) = std::env::var(var) {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{what} needs {var}; under CI every test runs against its service"
    );
    eprintln!("skipped ({what}): {var} is not set");
    None
}

impl TestDatabase {
    /// A fresh database, or `None` (with a note that `what` was skipped)
    /// when `TIDINGS_TEST_PG_URL` is not set.
    pub async fn from_env(what: &str) -> Option<TestDatabase> {
        let url = service_url("TIDINGS_TEST_PG_URL", what)?;
        match TestDatabase::create(&url).await {
            Ok(db) => Some(db),
            Err(e) => panic!("cannot create a test database on {url}: {e}"),
        }
    }

    pub async fn create(admin_url: &str) -> StoreResult<TestDatabase> {
        let name = format!("tidings_t_{}", rand::random::<u64>());
        let admin = connect_client(admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(backend)?;
        Ok(TestDatabase {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime; use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = connect_client(&admin_url).await.ok()?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            tracing::warn!(database = %self.name, "test database not dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h:1", "x"),
            "postgres://u@h:1/x"
        );
    }
}
