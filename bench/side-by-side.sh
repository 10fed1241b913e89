# Sourced by compare.sh and large.sh: builds loopscope, starts Debian's
# redis-server and `loopscope serve` on free loopback ports, waits until both
# answer, and stops both by PID when the sourcing script exits.
# Sets RPORT (redis-server), LPORT (loopscope) and WORK (a scratch folder).

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

cargo build --release --quiet
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port); LPORT=$(free_port)
WORK=$(mktemp -d)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
RPID=$!
target/release/loopscope serve --port "$LPORT" >"$WORK/loopscope.log" 2>&1 &
LPID=$!
trap 'kill $RPID $LPID 2>/dev/null; wait $RPID $LPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for port in $RPORT $LPORT; do
  # redis-cli, not redis-benchmark: a redis-benchmark started before the
  # server listens can spin forever instead of failing.
  for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
