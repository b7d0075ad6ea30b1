#!/usr/bin/env bash
# HTTP load benchmark of createOrGet on loopback with wrk (Debian's `wrk`).
#
# Rows: createOrGet hits (one externalId, always existing) and creates (a new
# externalId per request) on the memory and SQLite stores, beside the
# framework's limit: examples/baseline.rs, a minimal axum handler that reads the
# body and answers the same bytes as a hit.
#
#   meeting-http/bench/http-load.sh            # 3 rounds of 5 s per row, 1 wrk thread, 32 connections
#   DURATION=10s ROUNDS=5 CONNECTIONS=64 meeting-http/bench/http-load.sh
#   VERSION=v1.0 meeting-http/bench/http-load.sh   # the v1.0 profile (default beta)
#
# Not run by CI. Needs: wrk (apt-get install -y wrk), curl.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-5s}"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-1}"
CONNECTIONS="${CONNECTIONS:-32}"
VERSION="${VERSION:-beta}"
PORT_SERVER="${PORT_SERVER:-18181}"
PORT_BASELINE="${PORT_BASELINE:-18182}"
SECRET="bench-secret-of-at-least-32-bytes-for-hs256"
TENANT="72f988bf-86f1-41af-91ab-2d7cd0110000"
USER="d4a060b5-a8fc-450c-837b-750b2c280000"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p meetingd --bin meetingd
cargo build --release -q -p meeting-http --example baseline
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK="$(mktemp -d)"
PIDS=()
BASELINE_STARTED=""
cleanup() {
    for pid in "${PIDS[@]}" $BASELINE_STARTED; do kill "$pid" 2>/dev/null || true; done
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

# Servers on CPU 0, wrk on CPU 1 (when there are two), so that in every row the
# server has one core to itself and the load generator the other.
SERVER_CPU=(); CLIENT_CPU=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1)
fi

RESULT=""
measure() { # script port -> RESULT="rps=… p50_ms=… p99_ms=… requests=… errors=…"
    RESULT="$("${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/$1.lua" \
        "http://127.0.0.1:$2/$VERSION/me/onlineMeetings/createOrGet" | grep '^RESULT')"
    RESULT="${RESULT#RESULT }"
}
field() { # name result
    local f; for f in $2; do [ "${f%%=*}" = "$1" ] && echo "${f#*=}"; done; return 0
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION per run, $ROUNDS rounds (median shown), loopback, $(nproc) cores, ${SERVER_CPU[*]:-no pinning}"
printf '%-30s %8s %8s %8s %7s\n' row "req/s" "p50 ms" "p99 ms" errors

for store in memory "sqlite:$WORK/meetings.db"; do
    label="${store%%:*}"
    MEETINGD_LOG=warn "${SERVER_CPU[@]}" "$BIN/meetingd" serve --listen "127.0.0.1:$PORT_SERVER" --store "$store" \
        --jwt-hs256-secret "$SECRET" 2>"$WORK/meetingd-$label.log" &
    PIDS+=("$!")
    wait_for "$PORT_SERVER"
    # The hit key exists before the run; its answer is what the baseline sends.
    curl -s -X POST "http://127.0.0.1:$PORT_SERVER/$VERSION/me/onlineMeetings/createOrGet" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "$HIT_BODY" -o "$WORK/hit-response-$label.json"
    if [ -z "$BASELINE_STARTED" ]; then
        "${SERVER_CPU[@]}" "$BIN/examples/baseline" "127.0.0.1:$PORT_BASELINE" "$WORK/hit-response-$label.json" 2>/dev/null &
        BASELINE_STARTED="$!"
        wait_for "$PORT_BASELINE"
    fi
    # Hits and the baseline alternate, so that both see the same machine.
    hit_rps=(); hit_p50=(); hit_p99=(); hit_err=(); base_rps=(); base_p50=(); base_p99=()
    for _ in $(seq "$ROUNDS"); do
        measure hit "$PORT_BASELINE"
        base_rps+=("$(field rps "$RESULT")"); base_p50+=("$(field p50_ms "$RESULT")"); base_p99+=("$(field p99_ms "$RESULT")")
        measure hit "$PORT_SERVER"
        hit_rps+=("$(field rps "$RESULT")"); hit_p50+=("$(field p50_ms "$RESULT")"); hit_p99+=("$(field p99_ms "$RESULT")"); hit_err+=("$(field errors "$RESULT")")
    done
    printf '%-30s %8s %8s %8s %7s\n' "baseline (same bytes)" "$(median "${base_rps[@]}")" "$(median "${base_p50[@]}")" "$(median "${base_p99[@]}")" 0
    printf '%-30s %8s %8s %8s %7s\n' "createOrGet hit, $label" "$(median "${hit_rps[@]}")" "$(median "${hit_p50[@]}")" "$(median "${hit_p99[@]}")" "$(median "${hit_err[@]}")"
    echo "  hit/baseline rounds: ${hit_rps[*]} / ${base_rps[*]}; ratio of medians: $(awk "BEGIN {printf \"%.2f\", $(median "${hit_rps[@]}") / $(median "${base_rps[@]}")}")"
    measure create "$PORT_SERVER"
    printf '%-30s %8s %8s %8s %7s\n' "createOrGet create, $label" "$(field rps "$RESULT")" "$(field p50_ms "$RESULT")" "$(field p99_ms "$RESULT")" "$(field errors "$RESULT")"
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
    unset 'PIDS[-1]'
done
kill "$BASELINE_STARTED" 2>/dev/null || true
echo "response size: $(wc -c <"$WORK/hit-response-memory.json") bytes"
