#!/usr/bin/env bash
# Does a login storm starve everything else? Measures GET /api/v1/users/me
# throughput idle, then while 64 connections hammer POST /api/v1/auth/login,
# and prints both figures and their ratio. Password hashing runs on a bounded
# pool (auth.hashing_threads), so the ratio should stay high.
#
#   bash bench/login_storm.sh            # 10 s per phase
#   DURATION=20 bash bench/login_storm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts the build, also when CARGO_TARGET_DIR is set (as in CI).
release="${CARGO_TARGET_DIR:-target}/release"

DURATION="${DURATION:-10}"
PORT="${PORT:-18080}"
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

SHOP__DATABASE__URL="sqlite://$work/{module}.db" \
SHOP__AUTH__SIGNING_KEY_FILE="$work/key.pem" \
SHOP__LOG__FILTER=warn \
  "$release/shop" serve --bind "127.0.0.1:$PORT" >"$work/shop.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

password="bench password 123"
curl -fs -XPOST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$password\",\"name\":\"Bench\"}" >/dev/null
token=$(curl -fs -XPOST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"$password"}'
LUA

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
me() { wrk -t1 -c8 -d"${DURATION}s" -H "Authorization: Bearer $token" "$BASE/api/v1/users/me" >"$1"; }

me "$work/idle.txt"
wrk -t1 -c64 -d"$((DURATION + 4))s" -s "$work/login.lua" "$BASE/api/v1/auth/login" >"$work/storm.txt" &
storm=$!
sleep 2
me "$work/loaded.txt"
wait "$storm"

idle=$(rps "$work/idle.txt")
loaded=$(rps "$work/loaded.txt")
logins=$(rps "$work/storm.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$work/loaded.txt")
printf 'cores:                                   %s\n' "$(nproc)"
printf 'GET /users/me idle:                      %s req/s\n' "$idle"
printf 'GET /users/me during the login storm:    %s req/s%s\n' "$loaded" "${non2xx:+ ($non2xx non-2xx)}"
printf 'POST /auth/login (64 connections):       %s req/s\n' "$logins"
python3 - "$idle" "$loaded" <<'PY'
import sys
idle, loaded = map(float, sys.argv[1:])
ratio = loaded / idle if idle else 0.0
print(f"kept {ratio:.0%} of idle throughput (target: at least 40%)")
sys.exit(0 if ratio >= 0.4 else 1)
PY
