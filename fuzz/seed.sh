#!/usr/bin/env bash
# Builds seed corpora for the fuzz targets from the golden vectors, the
# examples and the real incwo fixtures. Usage: fuzz/seed.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
mkdir -p "$out"/{validate_map,fastpath_differential,parse_xml,classify,checkpoint_resume,checkpoint_import,inbound_detect}
i=0
for f in "$root"/examples/data/*.json; do
  for selector in 0 1 2 3 4 5 6; do
    { printf "\\x0$selector"; cat "$f"; } > "$out/validate_map/ex-$i-$selector"
  done
  # fastpath_differential: the selector also picks the profile (÷ 7) and the links (≥ 128).
  for selector in 02 03 04 09 0a 0b 10 11 12 17 18 19 82 83 84; do
    { printf "\\x$selector"; cat "$f"; } > "$out/fastpath_differential/ex-$i-$selector"
  done
  i=$((i + 1))
done
i=0
while IFS= read -r f; do
  for selector in 0 1 2 3 4 5 6; do
    { printf "\\x0$selector"; cat "$f"; } > "$out/parse_xml/fx-$i-$selector"
  done
  i=$((i + 1))
done < <(find "$root/tests/vectors/fixtures" -name '*.xml')
printf '\xf7\x01\x03120<errors><error field="name">blank</error></errors>' > "$out/classify/422"
printf '\xad\x01\x02-1<html><body>oops</body></html>' > "$out/classify/429"
printf '\xf7\x01\x00<errors><error>x</error></errors>' > "$out/classify/503"
printf '{"checkpointVersion":1,"digest":"x","cursor":0,"outcomes":[null,null,null,null,null],"ledger":{"entries":{}},"retryState":{"budget":{"tokens":500}},"blockedCustomers":{},"nextRequestId":1,"seed":0}' > "$out/checkpoint_resume/min"
# checkpoint_import: the same, and the real checkpoint committed for c_abi
# (without its selector byte: a saved example flow, a customer created and
# a request timed out).
cp "$out/checkpoint_resume/min" "$out/checkpoint_import/min"
tail -c +2 "$root/fuzz/seeds/c_abi/resume-example" > "$out/checkpoint_import/resume-example"

# c_abi: the selector byte is the entry point (low nibble) and a variant (high
# nibble: kind, resource or call name), then the arguments separated by NUL
# (see fuzz/fuzz_targets/c_abi.rs). Built from every golden vector (jq reads them).
command -v jq >/dev/null || { echo "fuzz/seed.sh: jq is required (apt-get install jq)" >&2; exit 1; }
# inbound_detect: the entries of every inbound.detect vector, NUL, its body.
i=0
for f in "$root"/tests/vectors/inbound/detect_*.json; do
  { jq -j '.args.entries | tojson' "$f"; printf '\0'; jq -j '.args.response.body // ""' "$f"; } > "$out/inbound_detect/v-$i"
  i=$((i + 1))
done
abi="$out/c_abi"
mkdir -p "$abi"
kinds=(customer product quote order invoice stock-movement cancellation)
resources=(firms contacts customer_products proposal_sheets bill_sheets invoices stock_movements cash_deposits)
calls=(request classify retry retry.decide flow.script queue.name partition.route partition.gate partition.settle
  inbound.webhook inbound.fetch inbound.detect inbound.poll telemetry.render telemetry.log telemetry.redact)
index_of() { # index_of NAME LIST... → the index, or nothing
  local name="$1" i=0
  shift
  for item in "$@"; do
    [ "$item" = "$name" ] && { echo "$i"; return; }
    i=$((i + 1))
  done
  return 0
}
selector() { printf "\\x$(printf %02x $(($1 + ($2 << 4))))"; } # selector ENTRY VARIANT
nul() { printf '\0'; }
config='{"server":"http://127.0.0.1:9","businessFileId":"123456","auth":{"type":"basic","login":"api@example.fr","password":"secret"}}'
vectors="$root/tests/vectors"
i=0
while IFS= read -r f; do
  IFS=$'\t' read -r call name source profile_file < <(jq -r '[.call, (.args.kind // .args.resource // "-"),
    (if has("inputText") then "text" elif has("inputFile") then "file:" + .inputFile elif has("input") then "json" else "-" end),
    (.profileFile // "-")] | @tsv' "$f")
  input=$(mktemp)
  case "$source" in
    text) jq -j .inputText "$f" >"$input" ;;
    json) jq -j '.input | tojson' "$f" >"$input" ;;
    file:*) cat "$vectors/${source#file:}" >"$input" ;;
  esac
  profile=$(mktemp)
  if [ "$profile_file" != - ]; then cat "$vectors/$profile_file" >"$profile"; fi
  case "$call" in
    validate | map | schema)
      kind=$name
      entry=$(index_of "$call" validate map schema)
      k=$(index_of "$kind" "${kinds[@]}")
      if [ -n "$k" ] && [ "$call" = schema ]; then
        { selector 2 "$k"; cat "$profile"; } >"$abi/v-$i"
      elif [ -n "$k" ]; then
        { selector "$entry" "$k"; cat "$input"; if [ -s "$profile" ]; then nul; cat "$profile"; fi; } >"$abi/v-$i"
      fi
      { selector 12 0; printf '%s' "$kind"; nul; cat "$input"; if [ -s "$profile" ]; then nul; cat "$profile"; fi; } >"$abi/v-$i-any"
      ;;
    parse)
      resource=$name
      r=$(index_of "$resource" "${resources[@]}")
      if [ -n "$r" ]; then { selector 3 "$r"; cat "$input"; } >"$abi/v-$i"; fi
      { selector 13 0; printf '%s' "$resource"; nul; cat "$input"; } >"$abi/v-$i-any"
      ;;
    *)
      args=$(jq -c '.args // {}' "$f")
      c=$(index_of "$call" "${calls[@]}")
      if [ -n "$c" ]; then
        { selector 5 "$c"; printf '%s' "$args"; } >"$abi/v-$i"
      else
        { selector 11 0; printf '%s' "$call"; nul; printf '%s' "$args"; } >"$abi/v-$i"
      fi
      if [ "$call" = queue.name ]; then { selector 6 0; printf '%s' "$args"; } >"$abi/v-$i-queue"; fi
      if [ "$call" = flow.script ]; then
        # The scripted flow as a host drives it: start arguments with a config,
        # then each answer (a response, or T and a transport failure's JSON).
        {
          selector 8 0
          jq -c --argjson config "$config" '.args | del(.answers) | .config = $config' "$f" | tr -d '\n'
          jq -c '(.args.answers // [])[] | if .transport then "T" + (.transport | tojson) else tojson end' -r "$f" | while IFS= read -r answer; do nul; printf '%s' "$answer"; done
        } >"$abi/v-$i-flow"
      fi
      ;;
  esac
  rm -f "$input" "$profile"
  i=$((i + 1))
done < <(find "$vectors" -name '*.json' -not -path '*/fixtures/*' -not -path '*/profiles/*' | sort)
i=0
for f in "$root"/profiles/*.json "$vectors"/profiles/*.json; do
  { selector 4 0; cat "$f"; } >"$abi/profile-$i"
  { selector 7 3; cat "$f"; nul; cat "$root/examples/data/order.json"; } >"$abi/core-$i"
  i=$((i + 1))
done
i=0
while IFS= read -r f; do
  # A real incwo answer to every request of the example flow.
  { selector 10 0; jq -Rsc '{status: 200, headers: {"Content-Type": "application/xml; charset=utf-8"}, body: .}' "$f" | tr -d '\n'; } >"$abi/fx-$i"
  i=$((i + 1))
done < <(find "$vectors/fixtures" -name '*.xml' | sort)
{ selector 10 0; printf 'T{"kind":"timeout","maybeSent":true}'; nul; printf '{"status":503,"headers":{"Retry-After":"2"}}'; } >"$abi/transport"
# Committed seeds: resume-example is a real checkpoint of the example batch's
# flow (entry 9), saved after a customer was created and a request timed out.
for f in "$root"/fuzz/seeds/c_abi/*; do
  if [ -e "$f" ]; then cp "$f" "$abi/"; fi
done
