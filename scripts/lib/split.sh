# Sourced by the scripts that run the split topology on loopback: one binary per
# module (built with only that module's feature and MySQL), each with its own
# MariaDB database, behind the nginx gateway from config/gateway.
#
# Exits at once when a tool they need is missing. The caller sets `root` (the
# repository) before sourcing and `work` (a scratch folder it removes) before
# calling anything, and calls `split_stop` on exit.
#
# Ports: gateway 8080; auth 8081, users 8082, catalog 8083, payments 8084, orders 8085.

for tool in nginx curl python3 openssl mysql; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

split_modules=(auth users catalog payments orders)
declare -A split_port=([auth]=8081 [users]=8082 [catalog]=8083 [payments]=8084 [orders]=8085)
declare -A split_pid=()
split_gateway=http://127.0.0.1:8080
# Where cargo puts the build, also when CARGO_TARGET_DIR is set (as in CI).
split_release="${CARGO_TARGET_DIR:-$root/target}/release"

# split_build: $work/bin/shop-<module>, one per module.
split_build() {
  mkdir -p "$work/bin"
  local m
  for m in "${split_modules[@]}"; do
    (cd "$root" && cargo build --release --quiet --no-default-features --features "$m,mysql")
    cp "$split_release/shop" "$work/bin/shop-$m"
  done
}

# split_env MYSQL_SERVER DATABASE_PREFIX: what every service shares (production
# rules, its own database, the internal credential, where the others live).
split_env() {
  [ -f "$work/signing_key.pem" ] || openssl genpkey -algorithm ed25519 -out "$work/signing_key.pem" 2>/dev/null
  export SHOP_ENV=production
  export SHOP__DATABASE__URL="$1/$2_{module}"
  SHOP__INTERNAL__TOKEN="${SHOP__INTERNAL__TOKEN:-$(openssl rand -hex 32)}"
  export SHOP__INTERNAL__TOKEN
  export SHOP__AUTH__SIGNING_KEY_FILE="$work/signing_key.pem"
  export SHOP__AUTH__TRUST_FORWARDED_FOR=true
  export SHOP__LOG__FILTER="${SHOP__LOG__FILTER:-info}"
  # One HTTP worker each, as in Kubernetes, where a service's CPU limit (500m,
  # k8s/split/components/service) gives it one: here the five services share
  # this machine's cores, and two workers each only switch threads (POST order
  # through the gateway, interleaved rounds: 956 → 1,240 orders/s).
  export SHOP__SERVER__WORKERS="${SHOP__SERVER__WORKERS:-1}"
  local m
  for m in "${split_modules[@]}"; do
    export "SHOP__REMOTE__${m^^}__URL=http://127.0.0.1:${split_port[$m]}"
  done
  split_databases_prefix=$2
}

# split_migrate: fresh databases, migrated by each service (production does not auto-migrate).
split_migrate() {
  local m
  for m in "${split_modules[@]}"; do
    mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS ${split_databases_prefix}_$m"
    "$work/bin/shop-$m" migrate run >"$work/$m.migrate.log"
    echo "$m: $(grep -c . "$work/$m.migrate.log") migrations applied"
  done
}

# split_start MODULE: starts one service and waits until it is alive.
split_start() {
  local m=$1
  "$work/bin/shop-$m" serve --bind "127.0.0.1:${split_port[$m]}" >>"$work/$m.log" 2>&1 &
  split_pid[$m]=$!
  local _
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:${split_port[$m]}/health/live" >/dev/null && return
    sleep 0.1
  done
  echo "$m did not start:" >&2
  tail -5 "$work/$m.log" >&2
  return 1
}

# split_kill MODULE: stops one service and waits for it to exit.
split_kill() {
  kill "${split_pid[$1]}" 2>/dev/null || true
  wait "${split_pid[$1]}" 2>/dev/null || true
  unset "split_pid[$1]"
}

split_start_gateway() {
  mkdir -p "$work/gateway/logs" "$work/gateway/tmp"
  nginx -p "$work/gateway" -c "$root/config/gateway/nginx.conf"
}

split_up() {
  local m
  for m in "${split_modules[@]}"; do split_start "$m"; done
  split_start_gateway
}

# split_stop: every service and the gateway down, the databases dropped.
split_stop() {
  local m
  for m in "${!split_pid[@]}"; do kill "${split_pid[$m]}" 2>/dev/null || true; done
  [ -d "$work/gateway" ] && nginx -p "$work/gateway" -c "$root/config/gateway/nginx.conf" -s stop 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${split_databases_prefix:-}" ]; then
    for m in "${split_modules[@]}"; do
      mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS ${split_databases_prefix}_$m" 2>/dev/null || true
    done
  fi
}
