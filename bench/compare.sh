#!/usr/bin/env bash
# Side-by-side throughput of loopscope and Debian's redis-server.
#
# Starts both on free loopback ports, runs redis-benchmark against each in
# alternation (so machine noise hits both alike), and prints the median
# requests/s of each and the loopscope/redis ratio per test and pipeline depth,
# then the median worst-case latency of each: a client that starves shows there.
#
#   bench/compare.sh                      # SET,GET at -P 1 and -P 16, 5 rounds
#   ROUNDS=3 TESTS=set,get,incr,lpush,lpop,mset PIPELINES="1 16" bench/compare.sh
#   REQUESTS=500000 CLIENTS=50 bench/compare.sh
#   CLIENTS=1000 PIPELINES=1 bench/compare.sh    # many connections
#
# Needs redis-server and redis-benchmark (Debian: apt-get install redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
TESTS=${TESTS:-set,get}
PIPELINES=${PIPELINES:-"1 16"}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
EXTRA=${EXTRA:-}

# shellcheck source=bench/side-by-side.sh
. bench/side-by-side.sh

# run PORT PIPELINE -> lines "test,rps,max_latency_ms"
run() {
  redis-benchmark -p "$1" -P "$2" -n "$REQUESTS" -c "$CLIENTS" -t "$TESTS" --csv $EXTRA 2>/dev/null |
    awk -F'"' 'NR>1 && NF>3 {print $2","$4","$16}'
}

declare -A R L RMAX LMAX
for p in $PIPELINES; do
  for round in $(seq "$ROUNDS"); do
    while IFS=, read -r t v m; do R["$p|$t"]+="$v "; RMAX["$p|$t"]+="$m "; done < <(run "$RPORT" "$p")
    while IFS=, read -r t v m; do L["$p|$t"]+="$v "; LMAX["$p|$t"]+="$m "; done < <(run "$LPORT" "$p")
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-14s %4s %14s %14s %8s %10s %10s\n' test P redis-server loopscope ratio max-ms-r max-ms-l
logsum=0; n=0
while IFS= read -r key; do
  p=${key%%|*}; t=${key#*|}
  r=$(echo "${R[$key]}" | median); l=$(echo "${L[$key]:-0}" | median)
  ratio=$(awk -v l="$l" -v r="$r" 'BEGIN {printf "%.2f", l/r}')
  logsum=$(awk -v s="$logsum" -v x="$ratio" 'BEGIN {print s + log(x)}'); n=$((n+1))
  rmax=$(echo "${RMAX[$key]}" | median); lmax=$(echo "${LMAX[$key]:-0}" | median)
  printf '%-14s %4s %14.0f %14.0f %8s %10.2f %10.2f\n' "$t" "$p" "$r" "$l" "$ratio" "$rmax" "$lmax"
done < <(printf '%s\n' "${!R[@]}" | sort -t'|' -k1,1n -k2)
awk -v s="$logsum" -v n="$n" 'BEGIN {printf "geometric mean of ratios: %.2f (%d cases, %s rounds each, medians)\n", exp(s/n), n, '"$ROUNDS"'}'
