#!/usr/bin/env bash
# Every test: the Rust workspace (unit, conformance, end-to-end, crash, the
# bridge and the C ABI) and the Node.js package's tests.
#
# Tests that need PostgreSQL (TIDINGS_TEST_PG_URL) or NATS with JetStream
# (TIDINGS_TEST_NATS_URL) run when their variable is set. Outside CI an
# unset variable leaves them out, and nextest reports them as skipped; under
# CI (CI=true) they run anyway and fail, so a CI run never passes without
# its services. `.ci/run` sets both to the machine's services.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is needed: cargo install cargo-nextest --locked (.ci/run installs it)" >&2
    exit 1
fi

ci=false
case "${CI:-}" in "" | false | 0) ;; *) ci=true ;; esac

pg_tests='package(tidings-store-postgres) | binary_id(tidings-cli::migrate) | binary_id(tidings-cli::cluster_crash) | binary_id(tidings-testkit::cluster)'
nats_tests='package(tidings-bus-nats) | binary_id(tidings-cli::migrate) | binary_id(tidings-cli::cluster_crash) | binary_id(tidings-testkit::cluster)'
skipped=()
if [ "$ci" = false ] && [ -z "${TIDINGS_TEST_PG_URL:-}" ]; then
    skipped+=("$pg_tests")
    echo "note: TIDINGS_TEST_PG_URL is not set: the PostgreSQL tests are skipped" >&2
fi
if [ "$ci" = false ] && [ -z "${TIDINGS_TEST_NATS_URL:-}" ]; then
    skipped+=("$nats_tests")
    echo "note: TIDINGS_TEST_NATS_URL is not set: the NATS tests are skipped" >&2
fi
filter=()
if [ "${#skipped[@]}" -gt 0 ]; then
    joined=$(printf ' | %s' "${skipped[@]}")
    filter=(-E "not (${joined:3})")
fi
cargo nextest run --workspace --locked "${filter[@]}" "$@"
cd crates/node
# The package's install step builds its addon; the tests use the debug one.
TIDINGS_NODE_PROFILE="${TIDINGS_NODE_PROFILE:-debug}" npm install --no-audit --no-fund --loglevel=error
npm test
