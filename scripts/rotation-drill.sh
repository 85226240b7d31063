#!/usr/bin/env bash
# The rotations of docs/operations.md, done for real on the split topology while
# a steady checkout load runs through the gateway: the signing key, then the
# internal token, one replica at a time. Passes only if no request of the load
# fails.
#
#   bash scripts/rotation-drill.sh    # needs MariaDB on 127.0.0.1:3306 (root, no password) and nginx
#
# Two replicas per module (ports 81xx and 82xx), each module behind its own
# "Service": one nginx on the module's usual port (8081-8085) that balances
# over the replicas in service, as kube-proxy or a mesh would. The gateway and
# every internal call go through these Services. Rolling a replica is what a
# Kubernetes rolling update does: out of the Service first (the manifests'
# preStop sleep), then SIGTERM (in-flight requests finish), start with the new
# settings, back in once /health/ready is 200.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MYSQL="${SHOP_DEMO_MYSQL:-mysql://root@127.0.0.1:3306}"
# shellcheck source=scripts/lib/split.sh
source "$root/scripts/lib/split.sh"
work=$(mktemp -d)
GATEWAY=$split_gateway
modules=("${split_modules[@]}")
replicas=(1 2)
declare -A replica_pid=() in_service=()
load_pid=''
cleanup() {
  [ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true
  local key
  for key in "${!replica_pid[@]}"; do kill "${replica_pid[$key]}" 2>/dev/null || true; done
  [ -f "$work/services/logs/nginx.pid" ] && nginx -p "$work/services" -c "$work/services/nginx.conf" -s stop 2>/dev/null || true
  split_stop
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/checks.sh
source "$root/scripts/lib/checks.sh"
key_id() { python3 -c "import base64,json,sys; h=sys.argv[1].split('.')[0]; print(json.loads(base64.urlsafe_b64decode(h+'='*(-len(h)%4)))['kid'])" "$1"; }

# ------------------------------------------------------------ the deployment
# What each module's replicas are started with; a step of a rotation changes
# these, then rolls the module.
declare -A token=() previous_token=()
signing_key="$work/key-1.pem"
previous_keys=''

replica_port() { echo $(("${split_port[$1]}" + 100 * $2)); }

# The Services: one nginx, one server per module over the replicas in service.
write_services() {
  local m r
  {
    echo 'worker_processes 1; pid logs/nginx.pid; error_log logs/error.log warn;'
    echo 'events { worker_connections 1024; }'
    echo 'http {'
    # keepalive_timeout 0: callers open a connection per request, so a reload
    # (a replica out or in) never closes a connection one of them is about to reuse.
    echo '  access_log off; client_max_body_size 256k; keepalive_timeout 0;'
    echo '  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;'
    echo '  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;'
    echo '  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;'
    # No retries: a request a replica drops must show up as a failure.
    echo '  proxy_next_upstream off;'
    for m in "${modules[@]}"; do
      echo "  upstream $m {"
      for r in "${replicas[@]}"; do
        # max_fails=0: membership is what this script says, as a Service's endpoints are.
        [ -z "${in_service[$m $r]:-}" ] || echo "    server 127.0.0.1:$(replica_port "$m" "$r") max_fails=0;"
      done
      echo '    keepalive 8;'
      echo '  }'
      echo "  server { listen 127.0.0.1:${split_port[$m]}; location / { proxy_pass http://$m; } }"
    done
    echo '}'
  } >"$work/services/nginx.conf"
}
reload_services() {
  write_services
  local out
  if ! out=$(nginx -p "$work/services" -c "$work/services/nginx.conf" -s reload 2>&1); then
    echo "$out" >&2
    return 1
  fi
}

replica_start() {
  local m=$1 r=$2 port
  port=$(replica_port "$m" "$r")
  local settings=("SHOP__INTERNAL__TOKEN=${token[$m]}")
  [ -z "${previous_token[$m]}" ] || settings+=("SHOP__INTERNAL__PREVIOUS_TOKEN=${previous_token[$m]}")
  if [ "$m" = auth ]; then
    settings+=("SHOP__AUTH__SIGNING_KEY_FILE=$signing_key")
    [ -z "$previous_keys" ] || settings+=("SHOP__AUTH__PREVIOUS_KEY_FILES=$previous_keys")
  fi
  env -u SHOP__INTERNAL__PREVIOUS_TOKEN -u SHOP__AUTH__PREVIOUS_KEY_FILES "${settings[@]}" \
    "$work/bin/shop-$m" serve --bind "127.0.0.1:$port" >>"$work/$m-$r.log" 2>&1 &
  replica_pid[$m $r]=$!
  local _
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] && return
    sleep 0.1
  done
  echo "$m replica $r did not get ready:" >&2
  tail -5 "$work/$m-$r.log" >&2
  return 1
}

replica_stop() {
  kill "${replica_pid[$1 $2]}"
  wait "${replica_pid[$1 $2]}" 2>/dev/null || true
  unset "replica_pid[$1 $2]"
}

rolled=0
# roll MODULE: each replica in turn out of its Service, restarted with the
# module's current settings, and back in once ready.
roll() {
  local m=$1 r
  for r in "${replicas[@]}"; do
    unset "in_service[$m $r]"
    reload_services
    sleep 1 # the preStop sleep: the Service has stopped sending it requests
    replica_stop "$m" "$r"
    replica_start "$m" "$r"
    in_service[$m $r]=1
    reload_services
    rolled=$((rolled + 1))
  done
  echo "rolled $m"
}

# ------------------------------------------------------------------ the drill
step "build one binary per module"
split_build

split_env "$MYSQL" shop_rotation
openssl genpkey -algorithm ed25519 -out "$work/key-1.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$work/key-2.pem" 2>/dev/null
old_token=$(openssl rand -hex 32)
new_token=$(openssl rand -hex 32)
for m in "${modules[@]}"; do token[$m]=$old_token previous_token[$m]=''; done

step "migrate, then start two replicas per module, their Services and the gateway"
split_migrate
mkdir -p "$work/services/logs" "$work/services/tmp"
for m in "${modules[@]}"; do
  for r in "${replicas[@]}"; do in_service[$m $r]=1; done
done
write_services
nginx -p "$work/services" -c "$work/services/nginx.conf"
for m in "${modules[@]}"; do
  for r in "${replicas[@]}"; do replica_start "$m" "$r"; done
done
split_start_gateway
for m in "${modules[@]}"; do
  expect "$m ready through its Service" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${split_port[$m]}/health/ready")" 200
done

post() { curl -s -X POST "$GATEWAY$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
login() { post /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"$2\"}" | json '["access_token"]'; }

step "an admin, a product, four customers"
printf 'admin password 1\n' | SHOP__INTERNAL__TOKEN=$old_token "$work/bin/shop-auth" create-admin --email admin@example.com
admin=$(login admin@example.com 'admin password 1')
stock=1000000
product=$(post /api/v1/catalog/products "{\"sku\":\"DRILL-1\",\"name\":\"Drill\",\"price_cents\":500,\"stock\":$stock}" \
  -H "authorization: Bearer $admin" | json '["id"]')
customers=()
for i in 1 2 3 4; do
  post /api/v1/auth/register "{\"email\":\"c$i@example.com\",\"password\":\"c$i password 1\",\"name\":\"C$i\"}" >/dev/null
  customers+=("c$i@example.com")
done
before=$(login c1@example.com 'c1 password 1')
old_kid=$(key_id "$before")
echo "product $product; tokens signed with key $old_kid"

step "a steady load through the gateway: 4 customers, checkout after checkout"
python3 "$root/scripts/lib/steady_load.py" --product "$product" --stop-file "$work/stop" \
  --report "$work/load.json" "${customers[@]}" &
load_pid=$!
sleep 3

step "rotate the signing key (docs/operations.md, The signing key)"
echo "2. publish the new key before anyone signs with it"
previous_keys="$work/key-2.pem"
roll auth
sleep 32 # every process loads the JWKS every 30 s: all of them hold the new key now
echo "3. sign with the new key, keep the old one published"
signing_key="$work/key-2.pem" previous_keys="$work/key-1.pem"
roll auth
sleep 3 # every customer logs in again, with the new key

step "rotate the internal token (docs/operations.md, The internal token)"
echo "1. every service accepts the new value, still sends the old one"
for m in "${modules[@]}"; do previous_token[$m]=$new_token; done
for m in "${modules[@]}"; do roll "$m"; done
echo "2. every service sends the new value, still accepts the old one"
for m in "${modules[@]}"; do token[$m]=$new_token previous_token[$m]=$old_token; done
for m in "${modules[@]}"; do roll "$m"; done
echo "3. the old value is no longer accepted"
for m in "${modules[@]}"; do previous_token[$m]=''; done
for m in "${modules[@]}"; do roll "$m"; done
sleep 3

touch "$work/stop"
wait "$load_pid"
load_pid=''

step "what the load saw"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({k: r[k] for k in ('seconds','requests','by_request','logins_by_key_id')}))" "$work/load.json"
report() { json "$1" <"$work/load.json"; }
expect "replicas restarted during the load" "$rolled" 34
expect "requests during the rotations: more than 1,000" "$(python3 -c "print('yes' if $(report '["requests"]') > 1000 else 'no')")" yes
expect "failed requests" "$(report '["failed"]')" 0
if [ "$(report '["failed"]')" != 0 ]; then
  report '["failed_by_request"]'
  report '["first_failures"]'
fi
after=$(login c1@example.com 'c1 password 1')
new_kid=$(key_id "$after")
expect "a new login's token is signed with a new key" "$([ "$new_kid" != "$old_kid" ] && echo yes || echo no)" yes
expect "logins of the load, by key" "$(report '["logins_by_key_id"]' | python3 -c "import ast,sys; print(' '.join(sorted(ast.literal_eval(sys.stdin.read()))))")" \
  "$(printf '%s\n' "$old_kid" "$new_kid" | sort | paste -sd' ')"
expect "JWKS publishes both keys" "$(curl -s "$GATEWAY/api/v1/auth/jwks" | python3 -c 'import json,sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))')" \
  "$(printf '%s\n' "$old_kid" "$new_kid" | sort | paste -sd' ')"
expect "a token from before the rotation, on users" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/users/me" -H "authorization: Bearer $before")" 200
expect "the same token on orders" "$(curl -s -o /dev/null -w '%{http_code}' "$GATEWAY/api/v1/orders" -H "authorization: Bearer $before")" 200
orders=$(report '["succeeded_by_request"]["order"]')
expect "stock taken = orders placed ($orders)" "$(curl -s "$GATEWAY/api/v1/catalog/products/$product" | json '["stock"]')" $((stock - orders))
for m in "${modules[@]}"; do
  internal="http://127.0.0.1:${split_port[$m]}/internal/v1/none"
  expect "$m: the old internal token / the new one" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$internal" -H "x-internal-token: $old_token") / $(curl -s -o /dev/null -w '%{http_code}' "$internal" -H "x-internal-token: $new_token")" \
    "401 / 404"
done

verdict "rotation drill"
