#!/usr/bin/env bash
# Metrics as Prometheus reads them (issue 13): the debug address serves the text format, which
# `promtool check metrics` accepts, and a real Prometheus on loopback scrapes it and answers an
# instant query for a request counter. Also: the health endpoints on the debug address and /v2/
# answering 503 while a file check fails, in the real binary. Usage: metrics_test.sh BERTH_BIN
set -uo pipefail
BERTH_BIN=$(realpath "${1:?berth binary}")
export BERTH_BIN BERTH_TEST_DEADLINE=100
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
need curl promtool prometheus python3
lib_init

write_config "$T/config.yml" "$T/data" \
  "  debug:" "    addr: 127.0.0.1:0" "    prometheus:" "      enabled: true" \
  "health:" "  file:" "    - file: $T/drain" "      interval: 100ms" \
  "notifications:" "  endpoints:" "    - name: ci" "      url: http://127.0.0.1:1/hook" \
  "      timeout: 200ms" "      backoff: 50ms" \
  "berth:" "  audit:" "    enabled: true" "    path: $T/audit.log"
start_server berth berth "$T/config.yml"
DEBUG=""
wait_for 10 grep -q "debug server at 127.0.0.1:" "$SERVER_LOG"
DEBUG=$(sed -n 's/.*debug server at 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$SERVER_LOG" | head -n1)
[ -n "$DEBUG" ] || { fail "no debug server line in the log"; finish; }
DEBUG=127.0.0.1:$DEBUG

for _ in 1 2 3; do http_code /v2/ >/dev/null; done
http_code /v2/nothing/manifests/latest >/dev/null
check_eq "GET /v2/ is 200 while healthy" "$(http_code /v2/)" 200
check_eq "the public address has no /metrics" "$(http_code /metrics)" 404

curl -sS -m 10 -o /dev/null -X POST "http://$REG/v2/e2e/blobs/uploads/"  # an open upload session
http_code /v2/_catalog >/dev/null
uploads_counted() {
  curl -sS -m 10 "http://$DEBUG/metrics" >"$T/metrics.txt"
  grep -q '^berth_uploads_open 1$' "$T/metrics.txt"
}
if wait_for 10 uploads_counted; then pass "berth_uploads_open counts the session"; else fail "no berth_uploads_open 1 in the scrape"; fi
check_contains "the scrape counts GET /v2/" "$(cat "$T/metrics.txt")" \
  'registry_http_requests_total{handler="base",method="GET",code="200"}'
for series in 'berth_notifications_pending_events{endpoint="ci"}' \
  'berth_notifications_oldest_pending_age_seconds{endpoint="ci"}' \
  'berth_notifications_deliveries_total{endpoint="ci"}' 'berth_notifications_failures_total{endpoint="ci"}' \
  'berth_notifications_dropped_total{endpoint="ci"}' 'berth_audit_dropped_total' \
  'berth_cache_requests_total{cache="catalog",result="hit"}' 'process_start_time_seconds'; do
  check_contains "the scrape has $series" "$(cat "$T/metrics.txt")" "$series"
done
if promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1; then
  pass "promtool check metrics accepts the scrape"
else
  fail "promtool check metrics: $(head -c 2000 "$T/promtool.out")"
fi

# Health on the debug address, and /v2/ while a file check fails.
check_eq "/livez" "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://$DEBUG/livez")" 200
ready() { [ "$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$DEBUG/readyz")" = 200 ]; }
if wait_for 10 ready; then pass "/readyz once storage answered"; else fail "/readyz never 200"; fi
touch "$T/drain"
v2_is() { [ "$(http_code /v2/)" = "$1" ]; }
if wait_for 10 v2_is 503; then pass "/v2/ is 503 while the drain file exists"; else fail "/v2/ stayed $(http_code /v2/)"; fi
check_contains "/debug/health names the file" "$(curl -sS -m 10 "http://$DEBUG/debug/health")" "$T/drain"
rm -f "$T/drain"
if wait_for 10 v2_is 200; then pass "/v2/ recovers"; else fail "/v2/ stayed $(http_code /v2/)"; fi

# A real Prometheus scraping the debug address. Prometheus cannot listen on port 0: take a free
# port from the kernel, release it and start on it; if another process took it meanwhile,
# Prometheus exits at once and the next attempt takes another port.
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: berth
    static_configs:
      - targets: ['$DEBUG']
YML
PROM=""
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  spawn "prometheus-$attempt" prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/tsdb-$attempt" --web.listen-address="127.0.0.1:$port"
  prom_ready() { curl -sf -m 2 "http://127.0.0.1:$port/-/ready" >/dev/null; }
  if wait_for 30 prom_ready; then PROM=127.0.0.1:$port; break; fi
  log "prometheus attempt $attempt on port $port did not come up: $(tail -n 3 "$T/prometheus-$attempt.log")"
  stop_proc "prometheus-$attempt" 2
done
[ -n "$PROM" ] || { fail "prometheus did not start"; finish; }
pass "prometheus listening on $PROM"

query='registry_http_requests_total{job="berth",handler="base",method="GET",code="200"}'
value=""
scraped() {
  value=$(curl -sS -m 5 -G "http://$PROM/api/v1/query" --data-urlencode "query=$query" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
  # At least the four 200s sent before the drain file appeared.
  [ -n "$value" ] && [ "$value" -ge 4 ] 2>/dev/null
}
if wait_for 30 scraped; then
  pass "prometheus answers the query for the /v2/ counter: $value"
else
  fail "prometheus has no $query (last answer: '${value}'); targets: $(curl -sS -m 5 "http://$PROM/api/v1/targets" | head -c 600)"
fi
up=$(curl -sS -m 5 -G "http://$PROM/api/v1/query" --data-urlencode 'query=up{job="berth"}' |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
check_eq "the berth target is up" "$up" 1
finish
