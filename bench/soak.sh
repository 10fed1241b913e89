#!/usr/bin/env bash
# Soak: 1,000 rude clients for a long time against one `loopscope serve`,
# then proof that the server survived whole. Loopback only; stops by itself.
#
#   bench/soak.sh                         # 1,000 clients, 10 minutes
#   DURATION=60 CLIENTS=200 bench/soak.sh # a quick run
#
# The clients are the `soak` example (examples/soak.rs, which explains the
# behaviours: polite mixed commands and MULTI/EXEC, frames cut in half, frames
# finished late, pipelines never read, hang-ups before the reply,
# subscribers). Afterwards it prints the server's RSS, INFO used_memory and
# open fds before, at the peak and after, checks that every acknowledged SET
# is readable, and exits non-zero if anything failed. With gdb installed it
# also asks the allocator to return free memory and prints the RSS after.
# Figures from a run are in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
CLIENTS=${CLIENTS:-1000}

cargo build --release --quiet --bin loopscope --example soak
# Each client needs an fd in both processes; raise the soft limit if allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
LOG=$(mktemp)
target/release/loopscope serve --bind 127.0.0.1 --port "$PORT" --maxclients $((CLIENTS * 2)) 2>"$LOG" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$LOG"; }
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q "ready to accept connections" "$LOG" && break
  sleep 0.1
done
grep -q "ready to accept connections" "$LOG" || { echo "soak: the server did not start:" >&2; cat "$LOG" >&2; exit 1; }

echo "soak: $CLIENTS clients for $DURATION s against pid $PID on 127.0.0.1:$PORT"
status=0
target/release/examples/soak --port "$PORT" --pid "$PID" --clients "$CLIENTS" --seconds "$DURATION" || status=$?
if ! kill -0 "$PID" 2>/dev/null; then
  echo "soak: the server died" >&2
  status=1
elif command -v gdb >/dev/null; then
  # RSS after FLUSHALL is mostly what glibc's malloc keeps for reuse; asking
  # it to hand free memory back shows what the server itself still holds.
  gdb -p "$PID" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1 || true
  echo "after malloc_trim(0): rss $(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status") KiB"
fi
echo "server log lines: $(wc -l <"$LOG") (warnings: $(grep -c ' # ' "$LOG" || true))"
exit "$status"
