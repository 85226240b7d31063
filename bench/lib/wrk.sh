# wrk helpers for the benchmarks: the scripts for GET product, list and POST
# order, and one run that leaves "rps p50_ms p99_ms errors" in a file.
# Source after setting $work (a scratch directory) and $DURATION (seconds);
# `log` must exist.

# Every script ends with the same report: one RESULT line wrk prints at the end.
report='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end'
ids_loader='
local ids = {}
for line in io.lines(WORK .. "/products.txt") do ids[#ids + 1] = line end
math.randomseed(os.time() + tonumber(tostring(ids):match("0x(%x+)") or "1", 16))'

write_scripts() {  # write_scripts DIR
  local dir=$1
  cat >"$dir/get.lua" <<LUA
WORK = "$dir"
$ids_loader
request = function()
  return wrk.format("GET", "/api/v1/catalog/products/" .. ids[math.random(#ids)])
end
$report
LUA
  cat >"$dir/list.lua" <<LUA
$report
LUA
  cat >"$dir/order.lua" <<LUA
WORK = "$dir"
$ids_loader
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(cat "$dir/buyer.token")"
request = function()
  local body = '{"items":[{"product_id":"' .. ids[math.random(#ids)] .. '","quantity":1}]}'
  return wrk.format(nil, "/api/v1/orders", nil, body)
end
$report
LUA
}

# run_wrk NAME BASE CONNECTIONS SCRIPT PATH [SECONDS]: "rps p50 p99 errors" into
# $work/NAME, after SECONDS (default $DURATION) of load.
run_wrk() {
  local name=$1 base=$2 connections=$3 script=$4 path=$5 seconds=${6:-$DURATION}
  wrk -t2 -c"$connections" -d"${seconds}s" --timeout 5s -s "$script" "$base$path" >"$work/$name.wrk" 2>&1
  awk '/^RESULT/ {print $2, $3, $4, $5}' "$work/$name.wrk" >"$work/$name"
  log "   $name: $(cat "$work/$name") (rps p50_ms p99_ms errors)"
}

