#!/usr/bin/env bash
# Large replies, loopscope beside Debian's redis-server: the time one client
# waits for a GET of a 10 MB string and for an LRANGE of a 100,000-element list.
#
# Both servers get the same data, then redis-benchmark sends one request at a
# time (-c 1 -P 1) to each in alternation; the figure is the median time per
# request over the rounds, and the ratio is loopscope's time over redis's
# (below 1 means loopscope is faster).
#
#   bench/large.sh
#   ROUNDS=7 REQUESTS=100 VALUE_BYTES=10485760 LIST_LEN=100000 bench/large.sh
#
# Needs redis-server, redis-cli and redis-benchmark (apt-get install redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-50}
VALUE_BYTES=${VALUE_BYTES:-10485760}
LIST_LEN=${LIST_LEN:-100000}

# shellcheck source=bench/side-by-side.sh
. bench/side-by-side.sh

# The same data on both: one big string, one long list (sent with --pipe).
head -c "$VALUE_BYTES" /dev/zero | tr '\0' 'x' >"$WORK/value"
python3 - "$LIST_LEN" >"$WORK/list.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
for start in range(0, n, 1000):
    items = [b"element:%d" % i for i in range(start, min(n, start + 1000))]
    parts = [b"RPUSH", b"biglist"] + items
    out.buffer.write(b"*%d\r\n" % len(parts))
    for p in parts:
        out.buffer.write(b"$%d\r\n%s\r\n" % (len(p), p))
EOF
for port in $RPORT $LPORT; do
  redis-cli -p "$port" -x SET bigvalue <"$WORK/value" >/dev/null
  redis-cli -p "$port" --pipe <"$WORK/list.resp" >/dev/null
  [ "$(redis-cli -p "$port" STRLEN bigvalue)" = "$VALUE_BYTES" ] || { echo "bench: SET bigvalue failed on $port" >&2; exit 1; }
  [ "$(redis-cli -p "$port" LLEN biglist)" = "$LIST_LEN" ] || { echo "bench: RPUSH biglist failed on $port" >&2; exit 1; }
done

# ms_per_request PORT ARGS... -> milliseconds per request, one client, no pipelining
ms_per_request() {
  local port=$1; shift
  redis-benchmark -p "$port" -n "$REQUESTS" -c 1 -P 1 --csv "$@" 2>/dev/null |
    awk -F'"' 'NR>1 && NF>3 {printf "%.4f\n", 1000 / $4}'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-28s %12s %12s %8s\n' request redis-ms loopscope-ms ratio
for case in "GET bigvalue" "LRANGE biglist 0 -1"; do
  r=""; l=""
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086 # the case is split into words on purpose
    r+="$(ms_per_request "$RPORT" $case) "
    # shellcheck disable=SC2086
    l+="$(ms_per_request "$LPORT" $case) "
  done
  rm=$(echo "$r" | median); lm=$(echo "$l" | median)
  printf '%-28s %12.3f %12.3f %8.2f\n' "$case" "$rm" "$lm" "$(awk -v l="$lm" -v r="$rm" 'BEGIN {print l/r}')"
done
echo "($ROUNDS rounds of $REQUESTS requests each, medians; value $VALUE_BYTES bytes, list $LIST_LEN elements)"
