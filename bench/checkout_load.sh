#!/usr/bin/env bash
# Checkout under load on the monolith (SQLite, release build): how many orders
# per second POST /api/v1/orders sustains with 16 connections, and its latency,
# while GET /api/v1/catalog/products keeps being served. Prints the figures.
#
#   bash bench/checkout_load.sh             # 10 s per phase
#   DURATION=20 CONNECTIONS=32 bash bench/checkout_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts the build, also when CARGO_TARGET_DIR is set (as in CI).
release="${CARGO_TARGET_DIR:-target}/release"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
PORT="${PORT:-18081}"
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export SHOP__DATABASE__URL="sqlite://$work/{module}.db"
export SHOP__AUTH__SIGNING_KEY_FILE="$work/key.pem"
export SHOP__LOG__FILTER=warn
"$release/shop" serve --bind "127.0.0.1:$PORT" >"$work/shop.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -fs -XPOST "$BASE$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }

printf 'bench admin pw 1\n' | "$release/shop" create-admin --email admin@example.com >/dev/null
admin=$(post /api/v1/auth/login '{"email":"admin@example.com","password":"bench admin pw 1"}' | json '["access_token"]')
product=$(post /api/v1/catalog/products '{"sku":"LOAD-1","name":"Load","price_cents":100,"stock":1000000000}' \
  -H "authorization: Bearer $admin" | json '["id"]')
post /api/v1/auth/register '{"email":"buyer@example.com","password":"bench buyer pw 1","name":"Buyer"}' >/dev/null
buyer=$(post /api/v1/auth/login '{"email":"buyer@example.com","password":"bench buyer pw 1"}' | json '["access_token"]')

cat >"$work/order.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $buyer"
wrk.body = '{"items":[{"product_id":"$product","quantity":1}]}'
LUA

wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/order.lua" "$BASE/api/v1/orders" >"$work/orders.txt"
wrk -t1 -c8 -d"${DURATION}s" --latency "$BASE/api/v1/catalog/products?sort=price_asc" >"$work/browse.txt"

field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
stock=$(curl -fs "$BASE/api/v1/catalog/products/$product" | json '["stock"]')
placed=$(curl -fs "$BASE/api/v1/orders?per_page=1" -H "authorization: Bearer $admin" | json '["total"]')
printf 'cores:                                  %s\n' "$(nproc)"
printf 'POST /orders (%s connections):          %s orders/s, p50 %s, p99 %s\n' "$CONNECTIONS" \
  "$(awk '/Requests\/sec/ {print $2}' "$work/orders.txt")" "$(field "$work/orders.txt" 50%)" "$(field "$work/orders.txt" 99%)"
printf 'non-2xx answers during checkout:        %s\n' "$(awk '/Non-2xx/ {print $5}' "$work/orders.txt" | grep . || echo 0)"
printf 'GET /catalog/products (8 connections):  %s req/s, p99 %s\n' \
  "$(awk '/Requests\/sec/ {print $2}' "$work/browse.txt")" "$(field "$work/browse.txt" 99%)"
printf 'orders recorded: %s; stock taken: %s (must be equal)\n' "$placed" "$((1000000000 - stock))"
[ "$placed" -eq "$((1000000000 - stock))" ]
