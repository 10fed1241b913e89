#!/usr/bin/env bash
# Counts that do not drift with machine noise, for loopscope and redis-server
# side by side: system calls per request (perf, raw_syscalls:sys_enter) and
# user-space instructions per request (valgrind --tool=callgrind).
#
# Each server runs twice per case, once with N and once with 2N requests; the
# difference divided by N cancels start-up and shutdown costs.
#
#   bench/counts.sh                    # SET and GET at -P 1 and -P 16
#   N=20000 TESTS="set get" PIPELINES="1 16" bench/counts.sh
#   SERVERS=loopscope LOOPSCOPE=path/to/other/build bench/counts.sh   # e.g. a --features bypass-probes build
#
# Needs redis-server, redis-benchmark, perf (linux-perf) and valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
TESTS=${TESTS:-"set get"}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
SERVERS=${SERVERS:-"redis loopscope"}
LOOPSCOPE=${LOOPSCOPE:-target/release/loopscope}
[ "$LOOPSCOPE" != target/release/loopscope ] || cargo build --release --quiet
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# server_cmd NAME PORT -> the command line of that server
server_cmd() {
  case $1 in
    redis) echo "redis-server --port $2 --bind 127.0.0.1 --save '' --appendonly no --dir $WORK" ;;
    loopscope) echo "$LOOPSCOPE serve --port $2" ;;
  esac
}

wait_up() { for _ in $(seq 600); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

# measure TOOL NAME TEST P REQUESTS -> the count for one run
measure() {
  local tool=$1 name=$2 test=$3 p=$4 n=$5 port out
  port=$(free_port); out="$WORK/$name.$tool.$n"
  case $tool in
    syscalls) eval "exec perf stat -x, -e raw_syscalls:sys_enter -o $out $(server_cmd "$name" "$port")" >/dev/null 2>&1 & ;;
    instr) eval "exec valgrind --tool=callgrind --callgrind-out-file=$out.cg $(server_cmd "$name" "$port")" >/dev/null 2>&1 & ;;
  esac
  local pid=$!
  wait_up "$port"
  redis-benchmark -p "$port" -t "$test" -n "$n" -c "$CLIENTS" -P "$p" -q >/dev/null 2>&1
  # perf runs the server as its child; valgrind runs it in its own process.
  # Either way SIGINT stops the server cleanly and the tool writes its report.
  local kids; kids=$(pgrep -P "$pid" || true)
  kill -INT ${kids:-$pid} 2>/dev/null || true
  wait $pid 2>/dev/null || true
  case $tool in
    syscalls) awk -F, '/raw_syscalls/ {print $1}' "$out" ;;
    instr) awk '/^summary:/ {print $2} /^totals:/ {print $2}' "$out".cg* | head -1 ;;
  esac
}

printf '%-6s %3s %-10s %16s %16s\n' test P server syscalls/req instr/req
for test in $TESTS; do
  for p in $PIPELINES; do
    for name in $SERVERS; do
      s1=$(measure syscalls "$name" "$test" "$p" "$N"); s2=$(measure syscalls "$name" "$test" "$p" $((2 * N)))
      i1=$(measure instr "$name" "$test" "$p" "$N"); i2=$(measure instr "$name" "$test" "$p" $((2 * N)))
      printf '%-6s %3s %-10s %16.2f %16.0f\n' "$test" "$p" "$name" \
        "$(awk -v a="$s1" -v b="$s2" -v n="$N" 'BEGIN {print (b - a) / n}')" \
        "$(awk -v a="$i1" -v b="$i2" -v n="$N" 'BEGIN {print (b - a) / n}')"
    done
  done
done
