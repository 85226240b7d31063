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
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "build one binary per module (--no-default-features --features <module>,mysql)"
mkdir -p "$work/bin" "$work/gateway/logs" "$work/gateway/tmp"
for m in "${modules[@]}"; do
  cargo build --release --quiet --no-default-features --features "$m,mysql"
  cp target/release/shop "$work/bin/shop-$m"
  echo "shop-$m: $("$work/bin/shop-$m" modules | tr '\n' ';')"
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
  printf '%-9s ready: %s\n' "$m" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[$m]}/health/ready")"
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
echo "order $order; request id demo-order-1 logged by: $(grep -l demo-order-1 "$work"/*.log | xargs -n1 basename | tr '\n' ' ')"
paid=$(post "/api/v1/orders/$order/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $ann")
payment=$(echo "$paid" | json '["payment_id"]')
echo "order status: $(echo "$paid" | json '["status"]'); payment $payment: $(curl -s "$GATEWAY/api/v1/payments/$payment" -H "authorization: Bearer $ann" | json '["status"]')"
echo "stock now: $(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]')"

step "another customer's card is declined: 402, the order stays payable"
post /api/v1/auth/register '{"email":"bob@example.com","password":"bob password 1","name":"Bob"}' >/dev/null
bob=$(post /api/v1/auth/login '{"email":"bob@example.com","password":"bob password 1"}' | json '["access_token"]')
order2=$(post /api/v1/orders "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" -H "authorization: Bearer $bob" | json '["id"]')
echo "pay with tok_chargeDeclined: $(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_chargeDeclined"}' -H "authorization: Bearer $bob")"
echo "Bob reads Ann's order: $(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/orders/$order" -H "authorization: Bearer $bob")"

step "resilience: payments goes down, then comes back"
kill "$pid_payments"; wait "$pid_payments" 2>/dev/null || true
echo "pay while payments is down: $(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")"
echo "orders ready while payments is down: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8085/health/ready")"
echo "order status: $(curl -s "$GATEWAY/api/v1/orders/$order2" -H "authorization: Bearer $bob" | json '["status"]')"
start payments
echo "pay again: $(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")"
echo "payments of that order: $(curl -s "$GATEWAY/api/v1/payments?order_id=$order2" -H "authorization: Bearer $bob" | json '["items"]' | grep -o "'status': '[a-z]*'" | tr '\n' ' ')"

step "the admin cancels Ann's paid order: refunded, stock back"
echo "cancel: $(post "/api/v1/orders/$order/cancel" '{}' -H "authorization: Bearer $admin" | json '["status"]')"
echo "payment: $(curl -s "$GATEWAY/api/v1/payments/$payment" -H "authorization: Bearer $ann" | json '["status"]')"
echo "stock now: $(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]') (5 less Bob's 1)"

step "the gateway never routes /internal"
echo "GET /internal/v1/users/users/x via the gateway: $(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/internal/v1/users/users/x")"
echo "the same on the users service without the credential: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8082/internal/v1/users/users/x")"

step "each service's own database"
for m in "${modules[@]}"; do
  printf '%-9s %s\n' "$m" "$(mysql -uroot -h127.0.0.1 -N -e "SELECT GROUP_CONCAT(table_name) FROM information_schema.tables WHERE table_schema='shop_demo_$m' AND table_name <> '__diesel_schema_migrations'")"
done
echo; echo "split demo finished"
