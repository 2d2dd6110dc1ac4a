#!/usr/bin/env bash
# Every test: the Rust workspace (unit, conformance, end-to-end, crash, the
# bridge and the C ABI) and the Node.js package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo nextest run --workspace --locked "$@"
cd crates/node
npm install --no-audit --no-fund --loglevel=error
npm test
