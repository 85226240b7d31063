#!/usr/bin/env bash
# What tracing costs the monolith on MariaDB: GET product (64 connections) and
# POST order (one line, 16 connections), in interleaved rounds, for
#   off       this build, `telemetry.otlp_endpoint` unset (the default);
#   export    this build, exporting every span to the stand-in collector
#             (scripts/lib/otlp_receiver.py) on the same two cores;
#   baseline  BASELINE_BIN, another build with export off (say, one from before
#             a tracing change), when set.
# Prints each round and the mean per configuration, with its ratio to "off".
#
#   bash bench/tracing.sh
#   BASELINE_BIN=/path/to/old/shop ROUNDS=3 DURATION=10 bash bench/tracing.sh
#
# Each configuration serves the same database and the same 2,000 products.
# Needs MariaDB on 127.0.0.1:3306 (root, no password); installs wrk if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
PRODUCTS=2000
STOCK=1000000
MYSQL=mysql://root@127.0.0.1:3306
BASE=http://127.0.0.1:18090
DATABASES=(users auth catalog payments orders)

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d)
shop_pid=
collector_pid=
drop_databases() {
  for m in "${DATABASES[@]}"; do mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS shop_btrace_$m"; done
}
cleanup() {
  [ -n "$shop_pid" ] && kill "$shop_pid" 2>/dev/null
  [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null
  drop_databases 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '%s\n' "$*" >&2; }

# shellcheck source=bench/lib/wrk.sh
source "$root/bench/lib/wrk.sh"

log "== build (release, --features mysql)"
cargo build --release --quiet --features mysql
mkdir -p "$work/bin" "$work/shop"
cp "${CARGO_TARGET_DIR:-target}/release/shop" "$work/bin/shop"
configurations=(off export)
if [ -n "${BASELINE_BIN:-}" ]; then
  cp "$BASELINE_BIN" "$work/bin/baseline"
  configurations=(baseline off export)
fi

# The collector keeps nothing: at tens of thousands of spans a second a file would fill the disk.
python3 "$root/scripts/lib/otlp_receiver.py" "$work/otlp.port" /dev/null &
collector_pid=$!
for _ in $(seq 1 50); do [ -s "$work/otlp.port" ] && break; sleep 0.1; done
collector="http://127.0.0.1:$(cat "$work/otlp.port")"

# start CONFIGURATION: serves $BASE with that configuration's binary and settings.
start() {
  local binary=$work/bin/shop endpoint=
  case $1 in
    baseline) binary=$work/bin/baseline ;;
    export) endpoint=$collector ;;
  esac
  (
    cd "$work/shop"
    export SHOP__DATABASE__URL="$MYSQL/shop_btrace_{module}"
    [ -z "$endpoint" ] || export SHOP__TELEMETRY__OTLP_ENDPOINT="$endpoint"
    exec "$binary" serve --bind 127.0.0.1:18090 >>"$work/shop/shop.log" 2>&1
  ) &
  shop_pid=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && return; sleep 0.1; done
  log "shop ($1) did not become ready"; exit 1
}
stop() { kill "$shop_pid"; wait "$shop_pid" 2>/dev/null || true; shop_pid=; }

log "== seed: $PRODUCTS products"
drop_databases
(cd "$work/shop" && printf 'bench admin pw 1\n' |
  SHOP__DATABASE__URL="$MYSQL/shop_btrace_{module}" "$work/bin/shop" create-admin --email admin@example.com >/dev/null)
start off
python3 bench/seed.py seed "$BASE" "$work/shop" "$PRODUCTS" "$STOCK"
stop
write_scripts "$work/shop"

for round in $(seq 1 "$ROUNDS"); do
  for configuration in "${configurations[@]}"; do
    log "== round $round: $configuration"
    start "$configuration"
    run_wrk "$configuration.$round.get64" "$BASE" 64 "$work/shop/get.lua" /
    run_wrk "$configuration.$round.order" "$BASE" 16 "$work/shop/order.lua" /
    stop
  done
done

python3 - "$work" "$ROUNDS" "${configurations[@]}" <<'PY'
import sys
work, rounds, configurations = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def rate(name):
    return float(open(f"{work}/{name}").read().split()[0])
print()
head = f"{'configuration':14} {'scenario':24} {'rounds (req/s)':>24} {'mean':>8} {'vs off':>7}"
print(head)
print("-" * len(head))
for key, label in [("get64", "GET product, 64 conns"), ("order", "POST order, 16 conns")]:
    mean = {c: sum(rate(f"{c}.{r}.{key}") for r in range(1, rounds + 1)) / rounds for c in configurations}
    for c in configurations:
        each = " ".join(f"{rate(f'{c}.{r}.{key}'):.0f}" for r in range(1, rounds + 1))
        print(f"{c:14} {label:24} {each:>24} {mean[c]:>8.0f} {100 * (mean[c] / mean['off'] - 1):>+6.1f}%")
PY
