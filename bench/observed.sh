#!/usr/bin/env bash
# What watching the loop costs: loopscope's throughput while observed, as a
# fraction of the same build's unobserved throughput measured in the same run.
#
# Four ways to run the server, benchmarked in alternation (so machine noise
# hits them alike), each started fresh for every run:
#   unobserved  loopscope serve
#   file        loopscope serve --trace FILE        (JSON lines written to a file)
#   attach      loopscope serve --trace-port T, and `loopscope attach` in tmux
#   tour        loopscope tour in tmux, guide hidden (g), continued (c): the UI follows
# and prints the median requests/s of each and its ratio to `unobserved`.
#
#   bench/observed.sh                       # SET,GET at -P 1 and -P 16, 3 rounds
#   ROUNDS=5 PIPELINES=16 MODES="unobserved file" bench/observed.sh
#   REQUESTS=400000 CLIENTS=50 bench/observed.sh
#
# Needs redis-benchmark, redis-cli and tmux. Uses tmux sessions named
# `observed-<pid>-*` and kills only those.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-set,get}
PIPELINES=${PIPELINES:-"1 16"}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
MODES=${MODES:-"unobserved file attach tour"}
LOOPSCOPE=${LOOPSCOPE:-target/release/loopscope}

for tool in redis-benchmark redis-cli tmux; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
[ "$LOOPSCOPE" != target/release/loopscope ] || cargo build --release --quiet
LOOPSCOPE=$(realpath "$LOOPSCOPE")
WORK=$(mktemp -d)
SESSION="observed-$$"
PIDS=()
cleanup() {
  for s in "$SESSION-attach" "$SESSION-tour"; do tmux kill-session -t "$s" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 300); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.1; done; echo "bench: server on $1 did not start" >&2; exit 1; }
# wait_screen SESSION TEXT: until the UI in SESSION shows TEXT.
wait_screen() { for _ in $(seq 300); do tmux capture-pane -p -t "$1" 2>/dev/null | grep -q "$2" && return; sleep 0.1; done; echo "bench: $1 never showed '$2'" >&2; exit 1; }

# start MODE PORT: starts the server (and its viewer) for MODE; sets STOP to
# the command that stops them.
start() {
  local mode=$1 port=$2 tport
  # The UIs keep their guide progress under HOME: give them a scratch one.
  local ui_env="HOME=$WORK TERM=xterm-256color"
  case $mode in
    unobserved)
      "$LOOPSCOPE" serve --port "$port" >"$WORK/serve.log" 2>&1 & PIDS+=($!)
      STOP="kill $!" ;;
    file)
      "$LOOPSCOPE" serve --port "$port" --trace "$WORK/trace.jsonl" >"$WORK/serve.log" 2>&1 & PIDS+=($!)
      STOP="kill $!; rm -f $WORK/trace.jsonl" ;;
    attach)
      tport=$(free_port)
      "$LOOPSCOPE" serve --port "$port" --trace-port "$tport" >"$WORK/serve.log" 2>&1 & PIDS+=($!)
      local pid=$!
      wait_up "$port"
      tmux new -d -s "$SESSION-attach" -x 120 -y 40 "env $ui_env $LOOPSCOPE attach --log $WORK/ui.log 127.0.0.1:$tport"
      wait_screen "$SESSION-attach" running
      STOP="tmux kill-session -t $SESSION-attach; kill $pid" ;;
    tour)
      tmux new -d -s "$SESSION-tour" -x 120 -y 40 "env $ui_env $LOOPSCOPE tour --log $WORK/ui.log --port $port"
      wait_screen "$SESSION-tour" PAUSED
      # Hide the guide (which lifts its breakpoints), then continue.
      tmux send-keys -t "$SESSION-tour" g
      sleep 0.3
      tmux send-keys -t "$SESSION-tour" c
      wait_screen "$SESSION-tour" running
      STOP="tmux kill-session -t $SESSION-tour" ;;
  esac
  wait_up "$port"
}

# run MODE PIPELINE -> lines "test,rps"
run() {
  local port; port=$(free_port)
  start "$1" "$port"
  redis-benchmark -p "$port" -P "$2" -n "$REQUESTS" -c "$CLIENTS" -t "$TESTS" --csv 2>/dev/null |
    awk -F'"' 'NR>1 && NF>3 {print $2","$4}'
  eval "$STOP"
  sleep 0.2
}

declare -A RPS
for p in $PIPELINES; do
  for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do
      while IFS=, read -r t v; do RPS["$p|$t|$mode"]+="$v "; done < <(run "$mode" "$p")
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-6s %4s %-11s %12s %8s\n' test P mode requests/s ratio
for p in $PIPELINES; do
  for t in $(echo "$TESTS" | tr ',' ' ' | tr '[:lower:]' '[:upper:]'); do
    base=$(echo "${RPS["$p|$t|unobserved"]:-}" | median)
    for mode in $MODES; do
      v=$(echo "${RPS["$p|$t|$mode"]:-0}" | median)
      ratio=$(awk -v v="$v" -v b="${base:-0}" 'BEGIN {if (b > 0) printf "%.2f", v/b; else print "-"}')
      printf '%-6s %4s %-11s %12.0f %8s\n' "$t" "$p" "$mode" "$v" "$ratio"
    done
  done
done
echo "($ROUNDS rounds, medians; ratio = mode / unobserved)"
