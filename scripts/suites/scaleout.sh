# Scale-out suite (docs/DESIGN.md#11-scale-out, docs/SCALE-OUT.md): RabbitMQ from
# Debian on 127.0.0.1 only (own node name, cookie, ports and data folder in a
# scratch directory, stopped by its pid), the consistent-hash exchange
# plugin, the Symfony bundle's workers (php8.2-amqp, Messenger 5.4) on a
# shared SQLite ledger, against incwo-sim:
#   1. throughput with 1, 2 and 4 workers, no faults: SCALEOUT_BENCH records
#      with the simulator answering at once (CPU-bound), SCALEOUT_LATENCY_BENCH
#      records with 25 ms added to every call (as a remote incwo would);
#   2. SCALEOUT_RECORDS records of SCALEOUT_CUSTOMERS customers through 4
#      workers with faults on, one worker killed with SIGKILL mid-run and
#      restarted: no duplicate, every record accounted for, each customer's
#      documents created in input order;
#   3. the same batch replayed: nothing created.
# Results go to $SCALEOUT_REPORT (default target/scaleout-report.txt).
SCALEOUT_APT_PACKAGES=(
  rabbitmq-server php8.2-amqp php8.2-cli php8.2-curl php8.2-sqlite3 php8.2-xml php8.2-mbstring curl
  php-psr-log php-symfony-http-client php-symfony-console php-symfony-http-kernel
  php-symfony-dependency-injection php-symfony-config php-symfony-framework-bundle
  php-symfony-messenger php-symfony-amqp-messenger php-symfony-yaml php-symfony-routing
)

scaleout_free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo substr(strrchr(stream_socket_get_name($s, false), ":"), 1);'
}

suite_scaleout() {
  local target="${CARGO_TARGET_DIR:-$ROOT/target}"
  local records="${SCALEOUT_RECORDS:-10000}" customers="${SCALEOUT_CUSTOMERS:-200}" bench="${SCALEOUT_BENCH:-2000}" latency_bench="${SCALEOUT_LATENCY_BENCH:-500}"
  local report="${SCALEOUT_REPORT:-$target/scaleout-report.txt}"

  step "scaleout: system packages (Debian)"
  local missing=()
  for p in "${SCALEOUT_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    # The package's own service is not used (no init here; policy-rc.d may refuse it).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  php -r 'exit(extension_loaded("amqp") ? 0 : 1);' || { echo "the amqp PHP extension is not loaded" >&2; return 1; }

  step "scaleout: build incwo-ffi and incwo-sim (release)"
  cargo build --release -q -p incwo-ffi -p incwo-sim

  local scratch
  scratch=$(mktemp -d /tmp/incwo-scaleout.XXXXXX)
  # The body runs in a subshell whose EXIT trap stops everything it started.
  (
    set -euo pipefail
    SCRATCH="$scratch"
    RMQ_PID="" SIM_PID="" WORKERS_PID=""
    export HOME="$SCRATCH/home" RABBITMQ_NODENAME="incwo-scaleout-$$@localhost"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT=$(scaleout_free_port); ERL_EPMD_PORT=$(scaleout_free_port); RABBITMQ_DIST_PORT=$(scaleout_free_port)
    export RABBITMQ_NODE_PORT ERL_EPMD_PORT RABBITMQ_DIST_PORT
    export RABBITMQ_MNESIA_BASE="$SCRATCH/mnesia" RABBITMQ_LOG_BASE="$SCRATCH/log" RABBITMQ_LOGS="$SCRATCH/log/rabbit.log"
    export RABBITMQ_PID_FILE="$SCRATCH/rabbit.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$SCRATCH/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$SCRATCH/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$SCRATCH/advanced.config"
    export RABBITMQ_CONF_ENV_FILE="$SCRATCH/rabbitmq-env.conf"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    local_bin=/usr/lib/rabbitmq/bin

    scaleout_cleanup() {
      set +e
      if [ -n "$WORKERS_PID" ] && kill -0 "$WORKERS_PID" 2>/dev/null; then
        kill -TERM "$WORKERS_PID"; for _ in $(seq 1 100); do kill -0 "$WORKERS_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$WORKERS_PID" 2>/dev/null
      fi
      for f in "$SCRATCH"/*/pids/shard-*.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
      done
      [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
      if [ -f "$RABBITMQ_PID_FILE" ]; then
        local pid; pid=$(cat "$RABBITMQ_PID_FILE")
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
      fi
      [ -n "$RMQ_PID" ] && kill "$RMQ_PID" 2>/dev/null; [ -n "$RMQ_PID" ] && wait "$RMQ_PID" 2>/dev/null
      /usr/bin/epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1
      [ -n "${SCALEOUT_KEEP:-}" ] || rm -rf "$SCRATCH"
    }
    trap scaleout_cleanup EXIT

    step "scaleout: RabbitMQ on 127.0.0.1:$RABBITMQ_NODE_PORT (node $RABBITMQ_NODENAME, data in $SCRATCH)"
    mkdir -p "$HOME" "$SCRATCH/mnesia" "$SCRATCH/log"
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$HOME/.erlang.cookie"; chmod 400 "$HOME/.erlang.cookie"
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$RABBITMQ_NODE_PORT" >"$SCRATCH/rabbitmq.conf"
    echo '[rabbitmq_consistent_hash_exchange].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    : >"$SCRATCH/rabbitmq-env.conf"
    "$local_bin/rabbitmq-server" >"$SCRATCH/log/server.out" 2>&1 &
    RMQ_PID=$!
    "$local_bin/rabbitmqctl" wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null
    "$local_bin/rabbitmq-plugins" list -e 2>/dev/null | grep -q rabbitmq_consistent_hash_exchange
    for vhost in w1 w2 w4 l1 l2 l4 main; do
      "$local_bin/rabbitmqctl" add_vhost "$vhost" >/dev/null
      "$local_bin/rabbitmqctl" set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
    done

    step "scaleout: incwo-sim"
    # Pages of 250: a create whose outcome is unknown is looked up (page 1, then
    # the last pages backwards) and its absence proven within the core's 50 pages.
    "$target/release/incwo-sim" --port 0 --page-size 250 >"$SCRATCH/sim.out" 2>"$SCRATCH/sim.err" &
    SIM_PID=$!
    for _ in $(seq 1 100); do grep -q '^listening on ' "$SCRATCH/sim.out" 2>/dev/null && break; sleep 0.1; done
    SIM=$(sed -n 's/^listening on //p' "$SCRATCH/sim.out" | head -1)
    [ -n "$SIM" ] || { echo "incwo-sim did not start" >&2; exit 1; }

    export INCWO_FFI_LIBRARY="$target/release/libincwo_ffi.so" INCWO_SCALE_SERVER="$SIM" INCWO_PASSWORD=secret
    APP="$ROOT/tests/scaleout/app/bin/console"
    T="$ROOT/tests/scaleout"

    # phase NAME WORKERS BATCH RECORDS: publish, run WORKERS workers until every record ended.
    scaleout_env() {
      export INCWO_SCALE_VAR="$SCRATCH/$1" INCWO_SCALE_SHARDS="$2"
      export INCWO_SCALE_AMQP_DSN="amqp://guest:guest@127.0.0.1:$RABBITMQ_NODE_PORT/$1"
      export INCWO_SCALE_LEDGER_DSN="sqlite:$SCRATCH/$1/ledger.sqlite"
      mkdir -p "$INCWO_SCALE_VAR"
    }
    now_ms() { php -r 'echo (int) floor(microtime(true) * 1000);'; }
    start_workers() {
      php -d ffi.enable=1 "$APP" incwo:workers --time-limit=600 --memory-limit=256M --sleep=0.05 \
        --pid-dir="$INCWO_SCALE_VAR/pids" >>"$INCWO_SCALE_VAR/workers.log" 2>&1 &
      WORKERS_PID=$!
    }
    stop_workers() {
      kill -TERM "$WORKERS_PID"
      local waited=0
      while kill -0 "$WORKERS_PID" 2>/dev/null; do
        sleep 0.2; waited=$((waited + 1))
        [ $waited -lt 300 ] || { echo "incwo:workers did not stop on SIGTERM" >&2; exit 1; }
      done
      wait "$WORKERS_PID" 2>/dev/null || true
      WORKERS_PID=""
      for f in "$INCWO_SCALE_VAR"/pids/shard-*.pid; do
        if kill -0 "$(cat "$f")" 2>/dev/null; then echo "worker $(cat "$f") still running" >&2; exit 1; fi
      done
    }
    : >"$report"

    # bench SERIES RECORDS LABEL: 1, 2 and 4 workers, each on its own vhost and ledger.
    bench_series() {
      local series="$1" count="$2" label="$3" n line started elapsed
      for n in 1 2 4; do
        scaleout_env "$series$n" "$n"
        php "$T/gen.php" "$INCWO_SCALE_VAR/batch.jsonl" $((count / 50)) "$count" "${series^^}$n" 2>/dev/null
        php -d ffi.enable=1 "$APP" cache:warmup -q
        start_workers
        sleep 3 # the workers boot and poll their empty queues; the clock starts at publishing
        started=$(now_ms)
        php -d ffi.enable=1 "$APP" incwo:publish "$INCWO_SCALE_VAR/batch.jsonl" >/dev/null
        php "$T/wait.php" "$INCWO_SCALE_LEDGER_DSN" "$count" 0 300 >/dev/null
        elapsed=$(( $(now_ms) - started ))
        stop_workers
        php "$T/check.php" "$SIM" "$INCWO_SCALE_VAR/batch.jsonl" >/dev/null
        line=$(php -r 'printf("%d worker(s): %d records in %.1f s = %.1f records/s", $argv[1], $argv[2], $argv[3] / 1000, $argv[2] * 1000 / $argv[3]);' "$n" "$count" "$elapsed")
        echo "throughput ($label): $line" | tee -a "$report"
      done
    }
    step "scaleout: throughput with 1, 2 and 4 workers, simulator answering at once ($bench records)"
    bench_series w "$bench" "no latency"
    step "scaleout: throughput with 1, 2 and 4 workers, 25 ms added to every incwo call ($latency_bench records)"
    curl -fsS -X POST "$SIM/_sim/faults" -H 'content-type: application/json' -d '{"fault": {"kind": "latency", "ms": 25}}' >/dev/null
    bench_series l "$latency_bench" "25 ms per call"
    curl -fsS -X DELETE "$SIM/_sim/faults" >/dev/null

    step "scaleout: $records records of $customers customers, 4 workers, faults on, one worker killed"
    scaleout_env main 4
    # A fresh simulator store: a create whose outcome is unknown and that never
    # reached incwo is proven absent by reading every list page (41 pages of 250).
    curl -fsS -X POST "$SIM/_sim/reset" >/dev/null
    curl -fsS -X POST "$SIM/_sim/faults" -H 'content-type: application/json' -d '[
      {"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "drop_after_commit"}, "probability": 0.02, "seed": 1},
      {"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "http_error", "status": 503, "after_commit": true}, "probability": 0.02, "seed": 2},
      {"method": "POST", "resource": "firms", "fault": {"kind": "drop_after_commit"}, "probability": 0.05, "seed": 3},
      {"method": "GET", "resource": "proposal_sheets", "fault": {"kind": "http_error", "status": 502}, "probability": 0.01, "seed": 4},
      {"method": "*", "resource": "*", "fault": {"kind": "rate_limit", "retry_after": 1}, "probability": 0.003, "seed": 5},
      {"method": "POST", "resource": "proposal_sheets", "fault": {"kind": "timeout", "ms": 3500, "commit": true}, "probability": 0.001, "seed": 6}
    ]' >/dev/null
    php "$T/gen.php" "$INCWO_SCALE_VAR/batch.jsonl" "$customers" "$records" MAIN
    php -d ffi.enable=1 "$APP" cache:warmup -q
    php -d ffi.enable=1 "$APP" incwo:publish "$INCWO_SCALE_VAR/batch.jsonl"
    started=$(now_ms)
    start_workers
    php "$T/wait.php" "$INCWO_SCALE_LEDGER_DSN" $((records * 3 / 10)) 0 600
    victim=$(cat "$INCWO_SCALE_VAR/pids/shard-1.pid")
    kill -KILL "$victim"
    echo "killed the shard 1 worker (pid $victim) with SIGKILL" | tee -a "$report"
    php "$T/wait.php" "$INCWO_SCALE_LEDGER_DSN" "$records" 0 600
    elapsed=$(( $(now_ms) - started ))
    restarted=$(cat "$INCWO_SCALE_VAR/pids/shard-1.pid")
    [ "$restarted" != "$victim" ] || { echo "the killed worker was not restarted" >&2; exit 1; }
    grep -q "shard 1 worker exited (signal 9), starting it again" "$INCWO_SCALE_VAR/workers.log"
    result=$(php "$T/check.php" "$SIM" "$INCWO_SCALE_VAR/batch.jsonl" "$INCWO_SCALE_LEDGER_DSN")
    echo "$result"
    creates=$(curl -fsS "$SIM/_sim/state" | php -r 'echo array_sum((array) json_decode(stream_get_contents(STDIN), true)["counters"]["creates"]);')
    line=$(php -r 'printf("%d records, 4 workers, faults on, one SIGKILL: %.1f s = %.1f records/s", $argv[1], $argv[2] / 1000, $argv[1] * 1000 / $argv[2]);' "$records" "$elapsed")
    { echo "main: $line (worker restarted as pid $restarted)"; echo "main: $result"; } | tee -a "$report" >/dev/null
    echo "main: $line"

    step "scaleout: the same batch replayed creates nothing"
    replay_since=$(now_ms)
    php -d ffi.enable=1 "$APP" incwo:publish "$INCWO_SCALE_VAR/batch.jsonl"
    php "$T/wait.php" "$INCWO_SCALE_LEDGER_DSN" "$records" "$replay_since" 600
    elapsed=$(( $(now_ms) - replay_since ))
    result=$(php "$T/check.php" "$SIM" "$INCWO_SCALE_VAR/batch.jsonl" "$INCWO_SCALE_LEDGER_DSN" "$creates")
    echo "$result"
    echo "replay: $records records in $(php -r 'printf("%.1f", $argv[1] / 1000);' "$elapsed") s, creates unchanged ($creates); $result" | tee -a "$report"

    step "scaleout: the workers' metrics add up across messages"
    # Every message adds its run to the totals (telemetry.accumulate): each
    # record of the main run sent at least one call to incwo.
    local calls
    calls=$(php -r 'preg_match_all("/^api_call_duration_ms_count\{[^}]*\} (\d+)$/m", (string) @file_get_contents($argv[1]), $m); echo array_sum($m[1]);' "$INCWO_SCALE_VAR/incwo/metrics.prom")
    echo "metrics: $calls incwo calls measured in total" | tee -a "$report"
    [ "$calls" -ge "$records" ] || { echo "the metrics totals hold $calls calls for $records records" >&2; exit 1; }

    step "scaleout: backlog gauge, then SIGTERM: every worker finishes its message and stops"
    php -d ffi.enable=1 "$APP" incwo:backlog | tee -a "$report"
    php -d ffi.enable=1 "$APP" incwo:backlog | grep -q 'integration_backlog_size{queue="incwo.integration.shard.0"}'
    stop_workers
  )
  local status=$?
  [ $status -eq 0 ] || return $status
  if ps -eo pid,args | grep -E "[i]ncwo-scaleout|[m]essenger:consume|incwo:workers|[b]eam.smp.*incwo-scaleout" | grep -v grep; then
    echo "scaleout: processes left running" >&2
    return 1
  fi
  step "scaleout: report in $report"
  cat "$report"
}
