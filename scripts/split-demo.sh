#!/usr/bin/env bash
# The split topology for real, on loopback: one binary per module (built with
# only that module's feature and MySQL), each with its own MariaDB database,
# behind the nginx gateway from config/gateway. Runs the checkout story
# through the gateway (a W3C trace and a request id followed across services,
# in the logs and in the spans exported to a stand-in OTLP collector),
# then resilience checks: payments down (pay 503, orders stays ready), payments
# hung (pay 503 within 3 s, paid exactly once after it resumes), auth
# down (reads go on, logins 503), and a disabled account's token refused by
# every service within 30 s.
#
#   bash scripts/split-demo.sh       # needs MariaDB on 127.0.0.1:3306 (root, no password)
#
# Ports: gateway 8080; auth 8081, users 8082, catalog 8083, payments 8084, orders 8085.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MYSQL="${SHOP_DEMO_MYSQL:-mysql://root@127.0.0.1:3306}"
# shellcheck source=scripts/lib/split.sh
source "$root/scripts/lib/split.sh"
work=$(mktemp -d)
GATEWAY=$split_gateway
modules=("${split_modules[@]}")
otlp_pid=''
cleanup() {
  [ -z "$otlp_pid" ] || kill "$otlp_pid" 2>/dev/null || true
  split_stop
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/checks.sh
source "$root/scripts/lib/checks.sh"

step "build one binary per module (--no-default-features --features <module>,mysql)"
split_build
for m in "${modules[@]}"; do
  expect "shop-$m hosts" "$("$work/bin/shop-$m" modules | grep 'compiled in' | cut -d: -f1 | paste -sd,)" "$m"
done

split_env "$MYSQL" shop_demo
# A stand-in collector: every service exports its trace spans to it.
: >"$work/spans.jsonl"
python3 "$root/scripts/lib/otlp_receiver.py" "$work/otlp.port" "$work/spans.jsonl" &
otlp_pid=$!
for _ in $(seq 1 50); do [ -s "$work/otlp.port" ] && break; sleep 0.1; done
[ -s "$work/otlp.port" ] || { echo "the stand-in OTLP collector did not start" >&2; exit 1; }
export SHOP__TELEMETRY__OTLP_ENDPOINT="http://127.0.0.1:$(cat "$work/otlp.port")"

step "migrate each service's own database (production does not auto-migrate)"
split_migrate

step "start the services and the gateway"
split_up
for m in "${modules[@]}"; do
  expect "$m ready" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${split_port[$m]}/health/ready")" 200
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
trace=4bf92f3577b34da6a3ce929d0e0e4736
order=$(post /api/v1/orders "{\"items\":[{\"product_id\":\"$product\",\"quantity\":2}]}" \
  -H "authorization: Bearer $ann" -H 'x-request-id: demo-order-1' \
  -H "traceparent: 00-$trace-00f067aa0ba902b7-01" | json '["id"]')
echo "order $order"
sleep 0.5 # the services write their logs out every 100 ms
expect "request id demo-order-1 in the logs of" "$(grep -l demo-order-1 "$work"/*.log | xargs -n1 basename | tr '\n' ' ')" "catalog.log orders.log "
expect "trace $trace (from traceparent) in the logs of" "$(grep -l "$trace" "$work"/*.log | xargs -n1 basename | tr '\n' ' ')" "catalog.log orders.log "
sleep 1.5 # spans are exported every second
expect "spans of trace $trace exported by" "$(python3 "$root/scripts/lib/otlp_receiver.py" --trace "$trace" "$work/spans.jsonl")" \
  "shop-catalog: db+server shop-orders: client+db+server"
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
split_kill payments
expect "pay while payments is down" "$(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")" 503
expect "orders stays ready while payments is down" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8085/health/ready")" 200
expect "orders reports payments down" "$(curl -s "http://127.0.0.1:8085/health/ready" | json '["dependencies"]["payments"]')" down
expect "order status" "$(curl -s "$GATEWAY/api/v1/orders/$order2" -H "authorization: Bearer $bob" | json '["status"]')" pending_payment
split_start payments
expect "pay again" "$(status "/api/v1/orders/$order2/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $bob")" 200
expect "payments of that order" "$(curl -s "$GATEWAY/api/v1/payments?order_id=$order2" -H "authorization: Bearer $bob" | python3 -c 'import json,sys; print(" ".join(sorted(p["status"] for p in json.load(sys.stdin)["items"])))')" "failed succeeded"

step "the admin cancels Ann's paid order: refunded, stock back"
expect "cancel Ann's paid order (admin)" "$(post "/api/v1/orders/$order/cancel" '{}' -H "authorization: Bearer $admin" | json '["status"]')" refunded
expect "Ann's payment" "$(curl -s "$GATEWAY/api/v1/payments/$payment" -H "authorization: Bearer $ann" | json '["status"]')" refunded
expect "stock (5 less Bob's 1)" "$(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]')" 4

step "payments hangs (SIGSTOP): pay gives up within 3 s, orders stays ready, the order is paid once after SIGCONT"
order3=$(post /api/v1/orders "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" -H "authorization: Bearer $ann" | json '["id"]')
kill -STOP "${split_pid[payments]}"
t0=$(date +%s.%N)
hung=$(status "/api/v1/orders/$order3/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $ann")
waited=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
expect "pay while payments is hung" "$hung" 503
expect "answered within 3 s (took ${waited}s)" "$(python3 -c "print('yes' if $waited < 3 else 'no')")" yes
expect "orders stays ready" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8085/health/ready")" 200
expect "orders reports payments down" "$(curl -s "http://127.0.0.1:8085/health/ready" | json '["dependencies"]["payments"]')" down
expect "Ann reads the order" "$(curl -s "$GATEWAY/api/v1/orders/$order3" -H "authorization: Bearer $ann" | json '["status"]')" pending_payment
kill -CONT "${split_pid[payments]}"
expect "pay again after SIGCONT" "$(status "/api/v1/orders/$order3/pay" '{"payment_token":"tok_visa"}' -H "authorization: Bearer $ann")" 200
expect "payments of that order (exactly one, succeeded)" "$(curl -s "$GATEWAY/api/v1/payments?order_id=$order3" -H "authorization: Bearer $ann" | python3 -c 'import json,sys; print(" ".join(sorted(p["status"] for p in json.load(sys.stdin)["items"])))')" succeeded

step "auth goes down: token checks go on with the cached keys, only logins fail"
split_kill auth
expect "catalog read while auth is down" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/catalog/products/$product")" 200
expect "catalog stays ready" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8083/health/ready")" 200
expect "Ann reads her order (orders verifies with cached keys)" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/orders/$order" -H "authorization: Bearer $ann")" 200
expect "login while auth is down" "$(status /api/v1/auth/login '{"email":"ann@example.com","password":"ann password 1"}')" 503
split_start auth
expect "login after auth is back" "$(status /api/v1/auth/login '{"email":"ann@example.com","password":"ann password 1"}')" 200

step "the admin disables Bob: his token stops working on every service within 30 s"
bob_id=$(curl -s "$GATEWAY/api/v1/users/me" -H "authorization: Bearer $bob" | json '["id"]')
expect "disable Bob" "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$GATEWAY/api/v1/users/$bob_id" \
  -H "authorization: Bearer $admin" -H 'content-type: application/json' -d '{"disabled":true}')" 200
bob_orders=""
for _ in $(seq 1 30); do
  bob_orders=$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/orders" -H "authorization: Bearer $bob")
  [ "$bob_orders" = 401 ] && break
  sleep 1
done
expect "Bob's token on orders" "$bob_orders" 401
expect "Bob's token on users" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/users/me" -H "authorization: Bearer $bob")" 401

step "the gateway never routes /internal"
expect "GET /internal/v1/users/users/x via the gateway" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/internal/v1/users/users/x")" 404
expect "the same on the users service, no credential" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8082/internal/v1/users/users/x")" 401

step "each service's own database"
declare -A tables=([auth]=credentials,refresh_tokens [users]=addresses,users
  [catalog]=categories,product_counts,products,reservations [payments]=payments
  [orders]=idempotency_keys,orders)
for m in "${modules[@]}"; do
  expect "shop_demo_$m" "$(mysql -uroot -h127.0.0.1 -N -e "SELECT table_name FROM information_schema.tables WHERE table_schema='shop_demo_$m' AND table_name <> '__diesel_schema_migrations'" | LC_ALL=C sort | paste -sd,)" "${tables[$m]}"
done
verdict "split demo"
