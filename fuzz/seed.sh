#!/usr/bin/env bash
# Builds seed corpora for the fuzz targets from the golden vectors, the
# examples and the real incwo fixtures. Usage: fuzz/seed.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
mkdir -p "$out"/{validate_map,parse_xml,classify,checkpoint_resume}
i=0
for f in "$root"/examples/data/*.json; do
  for selector in 0 1 2 3 4 5 6; do
    { printf "\\x0$selector"; cat "$f"; } > "$out/validate_map/ex-$i-$selector"
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
