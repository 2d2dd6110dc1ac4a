//! `tidings bench p2p --matrix`: the same load against 1 node on SQLite,
//! 1 node on PostgreSQL and 3 nodes on PostgreSQL + NATS, in one run. Nodes
//! are `tidings serve` child processes, so each node's CPU time is its own.

use std::path::Path;

use anyhow::Context;
use serde_json::{json, Value};
use tidings_store_postgres::testing::TestDatabase;
use tidings_testkit::NodeProcess;

use super::{p2p_bench, P2pArgs};

struct Scenario {
    label: &'static str,
    postgres: bool,
    nats: bool,
    nodes: usize,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        label: "sqlite, 1 node",
        postgres: false,
        nats: false,
        nodes: 1,
    },
    Scenario {
        label: "postgres, 1 node",
        postgres: true,
        nats: false,
        nodes: 1,
    },
    Scenario {
        label: "postgres + nats, 3 nodes",
        postgres: true,
        nats: true,
        nodes: 3,
    },
];

async fn run_scenario(
    args: &P2pArgs,
    s: &Scenario,
    pg: &str,
    nats: &str,
    dir: &Path,
) -> anyhow::Result<Value> {
    let database = if s.postgres {
        Some(TestDatabase::create(pg).await?)
    } else {
        None
    };
    let store = database
        .as_ref()
        .map(|d| d.url.clone())
        .unwrap_or_else(|| "sqlite".into());
    let bus = if s.nats {
        nats.to_owned()
    } else {
        "local".to_owned()
    };
    let data_dir = dir.join(s.label.replace([' ', ',', '+'], "_"));
    let exe = std::env::current_exe()?;
    let prefix = format!("bench{}", std::process::id());
    let extra = ["--store", &store, "--bus", &bus, "--bus-prefix", &prefix];
    let mut nodes = Vec::new();
    for _ in 0..s.nodes {
        nodes.push(NodeProcess::start_fresh(&exe, &data_dir, &extra).await?);
    }
    let https: Vec<u16> = nodes.iter().map(|n| n.http).collect();
    let gateways: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.tcp))
        .collect();
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("secrets.json"))?)?;
    let mut run = args.clone();
    run.server_http = Some(format!("http://127.0.0.1:{}", https[0]));
    run.gateway = Some(gateways.join(","));
    run.app_key = secrets["default_app_key"].as_str().map(str::to_owned);
    run.app_secret = secrets["default_app_secret"].as_str().map(str::to_owned);
    run.no_baseline = true;
    run.json = true;
    let before: Vec<Option<f64>> = nodes.iter().map(|n| super::cpu_ms(n.pid())).collect();
    let mut report = p2p_bench(&run).await?;
    let after: Vec<Option<f64>> = nodes.iter().map(|n| super::cpu_ms(n.pid())).collect();
    let node_cpu: Vec<Option<f64>> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| Some(a.as_ref()? - b.as_ref()?))
        .collect();
    let acked = report["acked"].as_f64().unwrap_or(0.0).max(1.0);
    let total_cpu: f64 = node_cpu.iter().flatten().sum();
    report["scenario"] = json!(s.label);
    report["store"] = json!(if s.postgres { "postgres" } else { "sqlite" });
    report["bus"] = json!(if s.nats { "nats" } else { "local" });
    report["nodes"] = json!(s.nodes);
    report["node_cpu_ms"] = json!(node_cpu);
    report["node_cpu_us_per_message"] = json!(total_cpu * 1000.0 / acked);
    drop(nodes);
    drop(database);
    Ok(report)
}

pub async fn run(args: &P2pArgs) -> anyhow::Result<Value> {
    let pg = std::env::var("TIDINGS_BENCH_PG_URL")
        .or_else(|_| std::env::var("TIDINGS_TEST_PG_URL"))
        .context("--matrix needs TIDINGS_BENCH_PG_URL (or TIDINGS_TEST_PG_URL): a PostgreSQL it may create databases on")?;
    let nats = std::env::var("TIDINGS_BENCH_NATS_URL")
        .or_else(|_| std::env::var("TIDINGS_TEST_NATS_URL"))
        .context("--matrix needs TIDINGS_BENCH_NATS_URL (or TIDINGS_TEST_NATS_URL)")?;
    let dir = tempfile::tempdir()?;
    let mut reports = Vec::new();
    for scenario in SCENARIOS {
        reports.push(run_scenario(args, scenario, &pg, &nats, dir.path()).await?);
    }
    let rate = |r: &Value| r["msgs_per_sec"].as_f64().unwrap_or(0.0);
    let base = rate(&reports[0]).max(1e-9);
    let pg1 = rate(&reports[1]).max(1e-9);
    Ok(json!({
        "matrix": reports,
        "ratios": {
            "postgres_1_node_vs_sqlite": rate(&reports[1]) / base,
            "postgres_nats_3_nodes_vs_sqlite": rate(&reports[2]) / base,
            "postgres_nats_3_nodes_vs_postgres_1_node": rate(&reports[2]) / pg1,
        },
    }))
}

pub fn print(report: &Value) {
    println!(
        "{:<26} {:>10} {:>9} {:>9} {:>14}",
        "scenario", "msgs/s", "p50 ms", "p99 ms", "node CPU µs/msg"
    );
    for r in report["matrix"].as_array().into_iter().flatten() {
        println!(
            "{:<26} {:>10.0} {:>9.2} {:>9.2} {:>14.1}",
            r["scenario"].as_str().unwrap_or(""),
            r["msgs_per_sec"].as_f64().unwrap_or(0.0),
            r["ack_latency_ms"]["p50"].as_f64().unwrap_or(0.0),
            r["ack_latency_ms"]["p99"].as_f64().unwrap_or(0.0),
            r["node_cpu_us_per_message"].as_f64().unwrap_or(0.0),
        );
    }
    let ratios = &report["ratios"];
    println!(
        "ratios: postgres/sqlite {:.2}, 3 nodes/sqlite {:.2}, 3 nodes/1 postgres node {:.2}",
        ratios["postgres_1_node_vs_sqlite"].as_f64().unwrap_or(0.0),
        ratios["postgres_nats_3_nodes_vs_sqlite"]
            .as_f64()
            .unwrap_or(0.0),
        ratios["postgres_nats_3_nodes_vs_postgres_1_node"]
            .as_f64()
            .unwrap_or(0.0),
    );
}
