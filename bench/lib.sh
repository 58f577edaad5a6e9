# Shared by the bench scripts (sourced).

# wait_port LOG TRIES: prints the port a server logged as "listening on 127.0.0.1:PORT", polling
# LOG every 50 ms up to TRIES times; otherwise prints LOG to stderr and returns 1.
wait_port() {
  local port
  for _ in $(seq 1 "$2"); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  echo "server did not start ($1):" >&2; cat "$1" >&2
  return 1
}
