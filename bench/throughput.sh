#!/usr/bin/env bash
# One run, one table: what shop sustains on MariaDB next to what MariaDB itself
# sustains, for the monolith and for the split topology behind nginx.
#
#   bash bench/throughput.sh                 # 10 s per scenario, about 5 minutes with builds done
#   DURATION=20 WARMUP=5 bash bench/throughput.sh   # seconds measured per scenario, and of warm-up
#   SKIP_SPLIT=1 bash bench/throughput.sh    # the monolith only
#   MONOLITH_BIN=/path/to/shop SKIP_SPLIT=1 bash bench/throughput.sh   # another build of the monolith
#
# Measures, in this order, with nothing else running:
#   1. the raw limit: sysbench oltp_point_select (primary-key SELECT) at 16 and 64 threads;
#   2. the monolith built with `--features mysql`, run with its default settings
#      (log.filter=info) as a new user would, after WARMUP seconds each of GET
#      product and POST order that are not counted: GET product (16 and 64 connections,
#      random product), list (per_page=20, sort=price_asc), POST order (one line,
#      random product, 16 connections), pay (tok_visa, 16 connections); RSS after the load;
#   3. the same scenarios through the split topology behind the nginx gateway.
# Both catalogs hold the same 2,000 products. After each topology's run it checks
# that the stock taken equals the units ordered. Needs MariaDB on 127.0.0.1:3306
# (root, no password) and nginx; installs wrk and sysbench when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-5}"
PRODUCTS=2000
STOCK=1000000
MYSQL=mysql://root@127.0.0.1:3306
MONOLITH=http://127.0.0.1:18080

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v sysbench >/dev/null || missing+=(sysbench)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# shellcheck source=scripts/lib/split.sh
source "$root/scripts/lib/split.sh"
work=$(mktemp -d)
monolith_pid=
cleanup() {
  [ -n "$monolith_pid" ] && kill "$monolith_pid" 2>/dev/null
  split_stop
  for m in "${split_modules[@]}"; do mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS shop_bench_$m" 2>/dev/null || true; done
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS sbtest" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

log "== build (release): the monolith, then one binary per module"
mkdir -p "$work/bin"
if [ -n "${MONOLITH_BIN:-}" ]; then
  cp "$MONOLITH_BIN" "$work/bin/shop-monolith"
else
  cargo build --release --quiet --features mysql
  cp "$split_release/shop" "$work/bin/shop-monolith"
fi
[ -n "${SKIP_SPLIT:-}" ] || split_build

# shellcheck source=bench/lib/wrk.sh
source "$root/bench/lib/wrk.sh"

# The pay script: wrk's two threads take alternate pending orders, each once.
write_pay_script() {  # write_pay_script DIR
  local dir=$1
  cat >"$dir/pay.lua" <<LUA
local threads = 0
function setup(thread) thread:set("slot", threads); threads = threads + 1 end
local orders, cursor = {}, 1
function init(args)
  local i = 0
  for line in io.lines("$dir/pending.txt") do
    if i % 2 == slot then orders[#orders + 1] = line end
    i = i + 1
  end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(cat "$dir/buyer.token")"
wrk.body = '{"payment_token":"tok_visa"}'
request = function()
  local id = orders[cursor] or orders[#orders]   -- past the end: a 409, counted as an error
  cursor = cursor + 1
  return wrk.format(nil, "/api/v1/orders/" .. id .. "/pay")
end
$report
LUA
}

# scenarios PREFIX BASE DIR: every scenario against one topology.
scenarios() {
  local prefix=$1 base=$2 dir=$3
  write_scripts "$dir"
  # Not counted: the first seconds on fresh databases open the connections and
  # grow the new tables' files, which stalls writes for tens of milliseconds.
  run_wrk "$prefix.warmup-get" "$base" 16 "$dir/get.lua" / "$WARMUP"
  run_wrk "$prefix.warmup-order" "$base" 16 "$dir/order.lua" / "$WARMUP"
  run_wrk "$prefix.get16" "$base" 16 "$dir/get.lua" /
  run_wrk "$prefix.get64" "$base" 64 "$dir/get.lua" /
  run_wrk "$prefix.list" "$base" 64 "$dir/list.lua" "/api/v1/catalog/products?per_page=20&sort=price_asc"
  run_wrk "$prefix.order" "$base" 16 "$dir/order.lua" /
  python3 bench/seed.py pending "$base" "$dir"
  write_pay_script "$dir"
  run_wrk "$prefix.pay" "$base" 16 "$dir/pay.lua" /
  log "   orders to pay: $(wc -l <"$dir/pending.txt")"
  python3 bench/seed.py audit "$base" "$dir" "$PRODUCTS" "$STOCK" >"$work/$prefix.audit"
  log "   $(cat "$work/$prefix.audit")"
}

rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# ---------------------------------------------------------------- 1. raw MariaDB
log "== raw MariaDB: sysbench oltp_point_select, $PRODUCTS rows"
mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=root
  --mysql-db=sbtest --tables=1 --table-size="$PRODUCTS")
"${sb[@]}" prepare >/dev/null
for threads in 16 64; do
  "${sb[@]}" --threads="$threads" --time="$DURATION" run >"$work/sysbench$threads.txt"
  sed -n 's/.*queries: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$work/sysbench$threads.txt" | cut -d. -f1 >"$work/raw$threads"
  log "   $threads threads: $(cat "$work/raw$threads") q/s"
done
mysql -uroot -h127.0.0.1 -e "DROP DATABASE sbtest"

# ---------------------------------------------------------------- 2. the monolith
log "== monolith (--features mysql, default settings)"
mkdir -p "$work/monolith"
for m in "${split_modules[@]}"; do mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS shop_bench_$m"; done
(
  cd "$work/monolith"
  export SHOP__DATABASE__URL="$MYSQL/shop_bench_{module}"
  printf 'bench admin pw 1\n' | "$work/bin/shop-monolith" create-admin --email admin@example.com >/dev/null
  exec "$work/bin/shop-monolith" serve --bind 127.0.0.1:18080 >"$work/monolith/shop.log" 2>&1
) &
monolith_pid=$!
for _ in $(seq 1 100); do curl -fs "$MONOLITH/health/ready" >/dev/null && break; sleep 0.1; done
python3 bench/seed.py seed "$MONOLITH" "$work/monolith" "$PRODUCTS" "$STOCK"
scenarios mono "$MONOLITH" "$work/monolith"
rss_mib "$monolith_pid" >"$work/mono.rss"
kill "$monolith_pid"; wait "$monolith_pid" 2>/dev/null || true; monolith_pid=

# ---------------------------------------------------------------- 3. the split
if [ -z "${SKIP_SPLIT:-}" ]; then
  log "== split: five services behind nginx"
  mkdir -p "$work/split"
  split_env "$MYSQL" shop_bsplit
  split_migrate >/dev/null
  split_up
  printf 'bench admin pw 1\n' | "$work/bin/shop-auth" create-admin --email admin@example.com >/dev/null
  python3 bench/seed.py seed "$split_gateway" "$work/split" "$PRODUCTS" "$STOCK"
  scenarios split "$split_gateway" "$work/split"
  rss=0
  for m in "${split_modules[@]}"; do rss=$((rss + $(rss_mib "${split_pid[$m]}"))); done
  echo "$rss" >"$work/split.rss"
fi

# ---------------------------------------------------------------- the table
python3 - "$work" "${SKIP_SPLIT:-}" <<'PY'
import sys
work, skip_split = sys.argv[1], sys.argv[2]
def read(name):
    try:
        return open(f"{work}/{name}").read().split()
    except FileNotFoundError:
        return None
raw = max(int(read("raw16")[0]), int(read("raw64")[0]))
print()
print(f"raw MariaDB point select (sysbench, {2000} rows): 16 threads {read('raw16')[0]} q/s, "
      f"64 threads {read('raw64')[0]} q/s")
rows = [("GET product, 16 conns", "get16"), ("GET product, 64 conns", "get64"),
        ("list per_page=20 price_asc, 64 conns", "list"), ("POST order (1 line), 16 conns", "order"),
        ("POST pay, 16 conns", "pay")]
head = f"{'scenario':38} {'monolith req/s':>14} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
if not skip_split:
    head += f" | {'split req/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'split/mono':>10}"
print(head)
print("-" * len(head))
for label, key in rows:
    m = read(f"mono.{key}")
    line = f"{label:38} {m[0]:>14} {m[1]:>7} {m[2]:>7} {m[3]:>6}"
    if not skip_split:
        s = read(f"split.{key}")
        line += f" | {s[0]:>11} {s[1]:>7} {s[2]:>7} {s[3]:>6} {float(s[0]) / float(m[0]):>9.2f}x"
    print(line)
get64 = read("mono.get64")
print(f"GET product (64 conns) / raw point select: {100 * float(get64[0]) / raw:.0f}%")
print(f"RSS after the load: monolith {read('mono.rss')[0]} MiB"
      + ("" if skip_split else f"; split, five services together {read('split.rss')[0]} MiB"))
for topology in ["mono"] + ([] if skip_split else ["split"]):
    audit = dict(kv.split("=") for kv in read(f"{topology}.audit"))
    verdict = "equal" if audit["units"] == audit["taken"] else "DIFFERENT"
    print(f"{topology}: {audit['orders']} orders placed, {audit['units']} units ordered, "
          f"{audit['taken']} units of stock taken ({verdict}); {audit['paid']} paid")
PY
