#!/usr/bin/env bash
# The split topology for real, on loopback: one binary per module (built with
# only that module's feature and MySQL), each with its own MariaDB database,
# behind the nginx gateway from config/gateway. Runs the checkout story
# through the gateway, then a resilience check (payments down, then back).
#
#   bash scripts/split-demo.sh       # needs MariaDB on 127.0.0.1:3306 (root, no password)
#
# Ports: gateway 8080; auth 8081, users 8082, catalog 8083, payments 8084, orders 8085.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts the build, also when CARGO_TARGET_DIR is set (as in CI).
release="${CARGO_TARGET_DIR:-target}/release"
root=$PWD

MYSQL="${SHOP_DEMO_MYSQL:-mysql://root@127.0.0.1:3306}"
GATEWAY=http://127.0.0.1:8080
modules=(auth users catalog payments orders)
declare -A port=([auth]=8081 [users]=8082 [catalog]=8083 [payments]=8084 [orders]=8085)

for tool in nginx curl python3 openssl mysql; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  nginx -p "$work/gateway" -c "$root/config/gateway/nginx.conf" -s stop 2>/dev/null || true
  wait 2>/dev/null || true
  for m in "${modules[@]}"; do mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS shop_demo_$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
failures=0
# expect LABEL ACTUAL WANTED: prints the line, and counts a failure when they differ.
expect() {
  if [ "$2" = "$3" ]; then
    printf '%-58s %s\n' "$1" "$2"
  else
    printf '%-58s %s   FAILED: wanted %s\n' "$1" "$2" "$3"
    failures=$((failures + 1))
  fi
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "build one binary per module (--no-default-features --features <module>,mysql)"
mkdir -p "$work/bin" "$work/gateway/logs" "$work/gateway/tmp"
for m in "${modules[@]}"; do
  cargo build --release --quiet --no-default-features --features "$m,mysql"
  cp "$release/shop" "$work/bin/shop-$m"
  expect "shop-$m hosts" "$("$work/bin/shop-$m" modules | grep 'compiled in' | cut -d: -f1 | paste -sd,)" "$m"
done

# What every service shares: production rules, its own database, the internal
# credential, where the other modules live.
openssl genpkey -algorithm ed25519 -out "$work/signing_key.pem" 2>/dev/null
export SHOP_ENV=production
export SHOP__DATABASE__URL="$MYSQL/shop_demo_{module}"
export SHOP__INTERNAL__TOKEN="$(openssl rand -hex 32)"
export SHOP__AUTH__SIGNING_KEY_FILE="$work/signing_key.pem"
export SHOP__AUTH__TRUST_FORWARDED_FOR=true
export SHOP__LOG__FILTER=info
for m in "${modules[@]}"; do
  export "SHOP__REMOTE__${m^^}__URL=http://127.0.0.1:${port[$m]}"
done

step "migrate each service's own database (production does not auto-migrate)"
for m in "${modules[@]}"; do
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS shop_demo_$m"
  "$work/bin/shop-$m" migrate run | head -1
done

start() {
  local m=$1
  "$work/bin/shop-$m" serve --bind "127.0.0.1:${port[$m]}" >>"$work/$m.log" 2>&1 &
  pids+=($!)
  eval "pid_$m=$!"
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:${port[$m]}/health/live" >/dev/null && return; sleep 0.1; done
  echo "$m did not start:" >&2; tail -5 "$work/$m.log" >&2; exit 1
}

step "start the services and the gateway"
for m in "${modules[@]}"; do start "$m"; done
nginx -p "$work/gateway" -c "$root/config/gateway/nginx.conf"
for m in "${modules[@]}"; do
  expect "$m ready" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[$m]}/health/ready")" 200
done

post() { curl -s -X POST "$GATEWAY$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
status() { curl -s -o /dev/null -w '%{http_code}' -X POST "$GATEWAY$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }

step "admin (create-admin on the auth service, which reaches users over HTTP)"
printf 'admin password 1\n' | "$work/bin/shop-auth" create-admin --email admin@example.com
admin=$(post /api/v1/auth/login '{"email":"admin@example.com","password":"admin password 1"}' | json '["access_token"]')

step "catalog: the admin creates a product (catalog verifies the token with auth's JWKS)"
product=$(post /api/v1/catalog/products '{"sku":"MUG-1","name":"Mug","price_cents":1299,"stock":5}' -H "authorization: Bearer $admin" | json '["id"]')
echo "product $product, stock 5"

step "a customer registers, orders 2 and pays with tok_visa"
post /api/v1/auth/register '{"email":"ann@example.com","password":"ann password 1","name":"Ann"}' >/dev/null
ann=$(post /api/v1/auth/login '{"email":"ann@example.com","password":"ann password 1"}' | json '["access_token"]')
order=$(post /api/v1/orders "{\"items\":[{\"product_id\":\"$product\",\"quantity\":2}]}" \
  -H "authorization: Bearer $ann" -H 'x-request-id: demo-order-1' | json '["id"]')
echo "order $order"
expect "request id demo-order-1 in the logs of" "$(grep -l demo-order-1 "$work"/*.log | xargs -n1 basename | tr '\n' ' ')" "catalog.log orders.log "
paid=$(post "/api/v1/orders/$order/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $ann")
payment=$(echo "$paid" | json '["payment_id"]')
expect "order status after tok_visa" "$(echo "$paid" | json '["status"]')" paid
expect "payment $payment" "$(curl -s "$GATEWAY/api/v1/payments/$payment" -H "authorization: Bearer $ann" | json '["status"]')" succeeded
expect "stock" "$(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]')" 3

step "another customer's card is declined: 402, the order stays payable"
post /api/v1/auth/register '{"email":"bob@example.com","password":"bob password 1","name":"Bob"}' >/dev/null
bob=$(post /api/v1/auth/login '{"email":"bob@example.com","password":"bob password 1"}' | json '["access_token"]')
order2=$(post /api/v1/orders "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" -H "authorization: Bearer $bob" | json '["id"]')
expect "pay with tok_chargeDeclined" "$(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_chargeDeclined"}' -H "authorization: Bearer $bob")" 402
expect "Bob reads Ann's order" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/orders/$order" -H "authorization: Bearer $bob")" 404

step "resilience: payments goes down, then comes back"
kill "$pid_payments"; wait "$pid_payments" 2>/dev/null || true
expect "pay while payments is down" "$(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")" 503
expect "orders ready while payments is down" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8085/health/ready")" 503
expect "order status" "$(curl -s "$GATEWAY/api/v1/orders/$order2" -H "authorization: Bearer $bob" | json '["status"]')" pending_payment
start payments
expect "pay again" "$(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")" 200
expect "payments of that order" "$(curl -s "$GATEWAY/api/v1/payments?order_id=$order2" -H "authorization: Bearer $bob" | python3 -c 'import json,sys; print(" ".join(sorted(p["status"] for p in json.load(sys.stdin)["items"])))')" "failed succeeded"

step "the admin cancels Ann's paid order: refunded, stock back"
expect "cancel Ann's paid order (admin)" "$(post "/api/v1/orders/$order/cancel" '{}' -H "authorization: Bearer $admin" | json '["status"]')" refunded
expect "Ann's payment" "$(curl -s "$GATEWAY/api/v1/payments/$payment" -H "authorization: Bearer $ann" | json '["status"]')" refunded
expect "stock (5 less Bob's 1)" "$(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]')" 4

step "the gateway never routes /internal"
expect "GET /internal/v1/users/users/x via the gateway" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/internal/v1/users/users/x")" 404
expect "the same on the users service, no credential" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8082/internal/v1/users/users/x")" 401

step "each service's own database"
declare -A tables=([auth]=credentials,refresh_tokens [users]=addresses,users
  [catalog]=categories,products,reservation_lines,reservations [payments]=payments
  [orders]=idempotency_keys,order_items,orders)
for m in "${modules[@]}"; do
  expect "shop_demo_$m" "$(mysql -uroot -h127.0.0.1 -N -e "SELECT table_name FROM information_schema.tables WHERE table_schema='shop_demo_$m' AND table_name <> '__diesel_schema_migrations'" | LC_ALL=C sort | paste -sd,)" "${tables[$m]}"
done
echo
if [ "$failures" -gt 0 ]; then
  echo "split demo: $failures check(s) failed"
  exit 1
fi
echo "split demo: every check passed"
