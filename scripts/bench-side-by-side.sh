#!/usr/bin/env bash
# Runs the four p2p scenarios of docs/benchmarks.md for two `tidings`
# binaries, interleaved, three rounds; one line per run:
#   <label> <scenario> msgs/s p50_ms p99_ms ratio_to_baseline baseline_rows/s cpu_us_per_message store_alone_msgs/s commit_p99_at_most_ms
# (the last is 0 for a binary before the commit-time histogram, and for a commit p99 over 1 s)
# Usage: scripts/bench-side-by-side.sh path/to/tidings-before path/to/tidings-after
set -euo pipefail
before=${1:?binary before}
after=${2:?binary after}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

run() {
    local label=$1 scenario=$2 bin=$3
    shift 3
    "$bin" bench p2p "$@" --json 2>/dev/null | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('$label', '$scenario', round(r['msgs_per_sec']),
      round(r['ack_latency_ms']['p50'], 1), round(r['ack_latency_ms']['p99'], 1),
      round(r.get('ratio_to_baseline') or 0, 2), round(r.get('baseline_rows_per_sec') or 0),
      round(r.get('process_cpu_us_per_message') or 0),
      round(r.get('store_alone_msgs_per_sec') or 0),
      (r.get('store_commit_ms') or {}).get('p99_at_most') or 0)"
}

for _ in 1 2 3; do
    for label in before after; do
        if [ "$label" = before ]; then bin=$before; else bin=$after; fi
        run "$label" sdk-closed "$bin" --client sdk --clients 10 --messages 10000
        run "$label" raw-closed "$bin" --client raw --clients 10 --messages 10000
        run "$label" sdk-10k "$bin" --client sdk --clients 10 --messages 12000 --rate 10000 --no-baseline
        run "$label" raw-10k "$bin" --client raw --clients 10 --messages 4000 --rate 10000 --no-baseline
    done
done
