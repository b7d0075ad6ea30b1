#!/usr/bin/env bash
# HTTP load benchmark of createOrGet on loopback with wrk (Debian's `wrk`).
#
# Rows: createOrGet hits (one externalId, always existing) and creates (a new
# externalId per request) on the memory and SQLite stores, beside the
# framework's limit: examples/baseline.rs, a minimal axum handler that reads the
# body and answers the same bytes as a hit.
#
#   meeting-http/bench/http-load.sh            # 10 s per row, 1 wrk thread, 32 connections
#   DURATION=30s CONNECTIONS=64 meeting-http/bench/http-load.sh
#
# Not run by CI. Needs: wrk (apt-get install -y wrk), curl.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10s}"
THREADS="${THREADS:-1}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT_SERVER="${PORT_SERVER:-18181}"
PORT_BASELINE="${PORT_BASELINE:-18182}"
SECRET="bench-secret"
TENANT="72f988bf-86f1-41af-91ab-2d7cd0110000"
USER="d4a060b5-a8fc-450c-837b-750b2c280000"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p meeting-http --bin meetingd --example baseline
BIN=target/release
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

TOKEN="$("$BIN/meetingd" token --jwt-hs256-secret "$SECRET" --user "$USER" --tenant "$TENANT" --name "Tyler Stein" --upn test1@contoso.com)"
HIT_BODY='{"externalId":"bench-hit","subject":"Load test","participants":{"attendees":[{"identity":{"user":{"id":"1f35f2e6-9cab-44ad-8d5a-b74c14720000"}},"upn":"test@contoso.com"}]}}'

# wrk scripts: a fixed body (hits), or a new externalId per request (creates).
cat >"$WORK/hit.lua" <<EOF
wrk.method = "POST"
wrk.body = '$HIT_BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
cat >"$WORK/create.lua" <<EOF
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
  counter = counter + 1
  local body = '{"externalId":"bench-' .. prefix .. '-' .. counter .. '","subject":"Load test","participants":{"attendees":[{"identity":{"user":{"id":"1f35f2e6-9cab-44ad-8d5a-b74c14720000"}},"upn":"test@contoso.com"}]}}'
  return wrk.format(nil, nil, nil, body)
end
EOF
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, bad))
end
EOF
cat "$WORK/report.lua" >>"$WORK/hit.lua"
cat "$WORK/report.lua" >>"$WORK/create.lua"

wait_for() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    exit 1
}

run() { # label script port
    local line
    line="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/$2.lua" "http://127.0.0.1:$3/beta/me/onlineMeetings/createOrGet" | grep '^RESULT')"
    printf '%-28s %s\n' "$1" "${line#RESULT }"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, loopback, $(nproc) cores"

for store in memory "sqlite:$WORK/meetings.db"; do
    label="${store%%:*}"
    MEETINGD_LOG=warn "$BIN/meetingd" serve --listen "127.0.0.1:$PORT_SERVER" --store "$store" \
        --jwt-hs256-secret "$SECRET" 2>"$WORK/meetingd-$label.log" &
    PIDS+=("$!")
    wait_for "$PORT_SERVER"
    # The hit key exists before the run; keep its answer for the baseline.
    curl -s -X POST "http://127.0.0.1:$PORT_SERVER/beta/me/onlineMeetings/createOrGet" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "$HIT_BODY" -o "$WORK/hit-response.json"
    run "createOrGet hit, $label" hit "$PORT_SERVER"
    run "createOrGet create, $label" create "$PORT_SERVER"
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
    unset 'PIDS[-1]'
done

"$BIN/examples/baseline" "127.0.0.1:$PORT_BASELINE" "$WORK/hit-response.json" 2>/dev/null &
PIDS+=("$!")
wait_for "$PORT_BASELINE"
run "baseline (same bytes)" hit "$PORT_BASELINE"
echo "response size: $(wc -c <"$WORK/hit-response.json") bytes"
