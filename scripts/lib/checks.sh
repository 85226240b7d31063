# Sourced by the scripts that check a running topology: headed steps, checks
# that count their failures, and the verdict at the end.

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
# json PATH: reads a JSON document on standard input and prints the value at PATH ('["id"]').
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# verdict NAME: the last line; exits 1 when any check failed.
verdict() {
  echo
  if [ "$failures" -gt 0 ]; then
    echo "$1: $failures check(s) failed"
    exit 1
  fi
  echo "$1: every check passed"
}
