# Postman suite: export the nominal scenario as a Postman collection and run
# it with newman (npm) against the simulator.
suite_postman() {
  local dir="$ROOT/tests/postman"
  if [ ! -x "$dir/node_modules/.bin/newman" ]; then
    step "postman: npm install newman"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
  step "postman: build the CLI"
  cargo build --quiet -p incwo-cli
  local incwo="$ROOT/target/debug/incwo" out
  out=$(mktemp -d)
  "$incwo" sim --port 0 > "$out/sim.log" &
  local sim_pid=$!
  trap 'kill $sim_pid 2>/dev/null || true' RETURN
  local url=""
  for _ in $(seq 1 50); do
    url=$(head -n 1 "$out/sim.log" 2>/dev/null | sed -n 's/^listening on //p')
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the simulator did not start" >&2; return 1; }
  step "postman: export and run the collection against $url"
  "$incwo" postman --server "$url" --business-file 123456 > "$out/collection.json"
  if grep -q '"secret"' "$out/collection.json"; then
    echo "the exported collection contains the password" >&2
    return 1
  fi
  "$dir/node_modules/.bin/newman" run "$out/collection.json" --env-var password=secret --bail --color off
}
