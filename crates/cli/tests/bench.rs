//! `tidings bench` as a person runs it: the real binary, small loads, JSON out.

use std::process::Command;

fn bench(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("TIDINGS_LOG", "warn")
        .output()
        .expect("run tidings bench");
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn the_store_scenario_measures_the_store_beside_the_bare_table() {
    let report = bench(&[
        "store",
        "--messages",
        "600",
        "--batch",
        "50",
        "--conversations",
        "3",
        "--attempts",
        "1",
    ]);
    assert_eq!(report["scenario"], "store");
    let store = report["store_msgs_per_sec"].as_f64().expect("store rate");
    let bare = report["baseline_rows_per_sec"].as_f64().expect("bare rate");
    assert!(store > 0.0 && bare > 0.0, "{report}");
    let ratio = report["ratio_to_baseline"].as_f64().expect("ratio");
    assert!((ratio - store / bare).abs() < 1e-9, "{report}");
}

#[test]
fn a_raw_p2p_run_acks_and_delivers_every_message() {
    let report = bench(&[
        "p2p",
        "--client",
        "raw",
        "--clients",
        "4",
        "--messages",
        "150",
        "--no-baseline",
    ]);
    assert_eq!(report["acked"], 600, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["delivered"], 600, "{report}");
}

#[test]
fn a_batch_of_zero_is_refused_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["bench", "store", "--batch", "0"])
        .output()
        .expect("run tidings bench");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("must be at least 1"), "{stderr}");
}

#[test]
fn the_connections_scenario_reads_the_node_memory_before_and_after() {
    let report = bench(&["connections", "--count", "40", "--concurrency", "8"]);
    assert_eq!(report["scenario"], "connections");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{report}");
    for (r, transport) in results.iter().zip(["tcp", "ws"]) {
        assert_eq!(r["transport"], transport);
        assert_eq!(r["connections"], 40);
        let before = r["rss_before_bytes"].as_f64().expect("before");
        let half = r["rss_half_bytes"].as_f64().expect("half");
        let after = r["rss_after_bytes"].as_f64().expect("after");
        assert!(before > 0.0 && half > 0.0 && after > 0.0, "{r}");
        assert!(r["login_seconds"].as_f64().expect("seconds") > 0.0, "{r}");
    }
}

#[test]
fn the_events_scenario_reports_both_rates() {
    let report = bench(&["events", "--events", "200", "--messages", "600"]);
    let sqlite = &report["results"][0];
    assert_eq!(sqlite["store"], "sqlite");
    assert!(
        sqlite["events_per_sec"].as_f64().unwrap_or_default() > 0.0,
        "{report}"
    );
    assert!(
        sqlite["p2p_messages_per_sec"].as_f64().unwrap_or_default() > 0.0,
        "{report}"
    );
}

#[test]
fn a_new_device_of_an_account_with_relations_gets_them_all() {
    let report = bench(&[
        "sync",
        "--sessions",
        "3",
        "--messages",
        "2",
        "--friends",
        "30",
        "--blacklisted",
        "5",
        "--notifications",
        "7",
        "--new-events",
        "4",
    ]);
    assert_eq!(
        report["held_after_first_sync"],
        serde_json::json!({"friends": 30, "blacklisted": 5, "notifications": 7}),
        "{report}"
    );
    assert!(report["login_again_seconds"].as_f64().unwrap_or_default() > 0.0);
}

#[test]
fn the_history_scenario_reads_pages_of_each_kind() {
    let report = bench(&["history", "--messages", "3000", "--pages", "5"]);
    let pages = report["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 3, "{report}");
    for kind in pages {
        assert!(
            kind["p99_ms"].as_f64().unwrap_or_default() > 0.0,
            "{report}"
        );
        assert!(
            kind["messages_returned"].as_u64().unwrap_or_default() > 0,
            "{report}"
        );
    }
}

#[test]
fn a_new_device_syncs_the_roaming_window_only() {
    let report = bench(&["sync", "--sessions", "3", "--messages", "150"]);
    let first = &report["first_login"];
    assert_eq!(first["messages_on_server"], 450, "{report}");
    assert_eq!(first["messages"], 300, "{report}");
}
