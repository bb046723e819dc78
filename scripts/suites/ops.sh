# Ops suite: the Prometheus rules in ops/prometheus are valid (`promtool
# check rules`) and their unit tests pass (`promtool test rules`: each alert
# fires and stays quiet when it should), and the Grafana dashboard and the
# rules query only metrics and labels the connector exports (core test
# ops_assets: their PromQL against the core's exposition).

# promtool from Debian's `prometheus` package, extracted into target/ops
# rather than installed: installing the package would also start (or try
# to start) a Prometheus daemon that lingers on the CI machine.
ops_promtool() {
  local dir="$ROOT/target/ops/prometheus-deb"
  PROMTOOL=$(command -v promtool || true)
  if [ -z "$PROMTOOL" ] && [ -x "$dir/usr/bin/promtool" ]; then
    PROMTOOL="$dir/usr/bin/promtool"
  fi
  if [ -z "$PROMTOOL" ]; then
    step "ops: promtool (apt-get download prometheus, extracted; no daemon)"
    local tmp
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
      apt-get update -qq
      (cd "$tmp" && apt-get download prometheus >/dev/null)
    fi
    mkdir -p "$dir"
    dpkg-deb -x "$tmp"/prometheus_*.deb "$dir"
    rm -rf "$tmp"
    PROMTOOL="$dir/usr/bin/promtool"
  fi
  "$PROMTOOL" --version | head -n 1
}

suite_ops() {
  export CI=true
  ops_promtool
  step "ops: promtool check rules"
  "$PROMTOOL" check rules "$ROOT/ops/prometheus/incwo.rules.yml"
  step "ops: promtool test rules (a firing and a non-firing case per alert)"
  (cd "$ROOT/ops/prometheus" && "$PROMTOOL" test rules incwo.rules.test.yml)
  step "ops: the dashboard's and the rules' PromQL against the core's exposition"
  cargo test --quiet -p incwo-core --test ops_assets
}
