#!/usr/bin/env bash
# Re-points citations of documents that used to live outside the repository
# (../shared/DESIGN.md, TEST-MATRIX.md, incwo-api/REFERENCE.md, bench/PEERS.md)
# to their copies in the repository, with a section anchor:
#   "DESIGN section 7", "DESIGN.md section 7"  -> docs/DESIGN.md#7-flows-replayable-steps
#   "REFERENCE section 4", "REFERENCE.md §2.2" -> docs/INCWO-API.md#4-webhooks--notifications, …
#   "shared/TEST-MATRIX.md"                    -> tests/README.md#the-flow-test-matrix
#   "/work/shared/bench/PEERS.md"              -> docs/BENCH-PEERS.md (and the other shared/ files)
# A citation split over two comment lines ("… DESIGN\n//! section 7 …") is
# handled too. Idempotent: a second run changes nothing.
#
# Usage: tools/fix-citations.sh [--check] [PATH...]   (default PATH: core/src)
#   --check  change nothing; list what is left and exit 1 if anything is.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
[ $# -gt 0 ] || set -- core/src

# What is left to fix (the same forms the sed script below rewrites).
LEFT='DESIGN(\.md)?[[:space:]]+(section|§)|DESIGN(\.md)?$|REFERENCE(\.md)?[[:space:]]+(section|§)|shared/(DESIGN|TEST-MATRIX|CONTRACT|incwo-api|bench)'

if [ $check = 1 ]; then
  if grep -rnE "$LEFT" "$@"; then
    echo "citations of documents outside the repository are left (run tools/fix-citations.sh $*)" >&2
    exit 1
  fi
  exit 0
fi

design_anchor() {
  case $1 in
    1) echo 1-what-it-is ;; 2) echo 2-layout ;; 3) echo 3-the-cores-modules-one-concern-each ;;
    4) echo 4-the-canonical-contract-what-hosts-hand-to-the-core ;;
    5) echo 5-the-incwo-wire-model-and-the-mapping-profile ;; 6) echo 6-errors-and-retries ;;
    7) echo 7-flows-replayable-steps ;; 8) echo 8-telemetry ;; 9) echo 9-the-simulator-and-the-test-matrix ;;
    10) echo 10-bindings-rules ;; 11) echo 11-scale-out ;;
  esac
}
reference_anchor() {
  case $1 in
    0) echo 0-evidence-levels-read-this-first ;; 1) echo 1-transport-level-facts ;;
    1.1) echo 11-base-url--tenant-business-file ;; 1.2) echo 12-two-url-styles ;; 1.3) echo 13-authentication ;;
    1.4) echo 14-format--content-type ;; 1.5) echo 15-value-encodings-all-code-from-real-responsestest-fixtures ;;
    1.6) echo 16-pagination ;; 1.7) echo 17-filtering-search-sorting ;; 1.8) echo 18-http-status-codes-and-errors ;;
    1.9) echo 19-rate-limits-idempotency ;; 2) echo 2-objects ;; 2.1) echo 21-customers ;;
    2.2) echo 22-products-and-reference-data ;; 2.3) echo 23-sales-documents-common-shape ;;
    2.4) echo 24-quotes-and-delivery-notes--proposal_sheets ;; 2.5) echo 25-invoices-and-credit-notes--bill_sheets ;;
    2.6) echo 26-status--progress_id ;; 2.7) echo 27-payments--cash_deposits ;; 2.8) echo 28-stock ;;
    2.9) echo 29-other-objects-with-doc-pages-not-needed-for-the-core ;;
    3) echo 3-document-conversion-quote--order--invoice ;; 4) echo 4-webhooks--notifications ;;
    5) echo 5-uncertain--not-found ;; 6) echo 6-sources-read ;;
  esac
}

# The sed script (run with -z: the whole file is one buffer, so \n matches
# the end of a comment line). Longer section numbers first (11 before 1).
script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
  echo 's#(\.\./|/work/)?shared/TEST-MATRIX\.md#tests/README.md\#the-flow-test-matrix#g'
  echo 's#(\.\./|/work/)?shared/bench/PEERS\.md#docs/BENCH-PEERS.md#g'
  echo 's#(\.\./|/work/)?shared/incwo-api/REFERENCE\.md#docs/INCWO-API.md#g'
  echo 's#(\.\./|/work/)?shared/incwo-api/fixtures/#tests/vectors/fixtures/#g'
  echo 's#(\.\./|/work/)?shared/DESIGN\.md#docs/DESIGN.md#g'
  echo 's#(\.\./|/work/)?shared/CONTRACT\.md#docs/CONTRACT.md#g'
  for n in 11 10 9 8 7 6 5 4 3 2 1; do
    a=$(design_anchor "$n")
    # "… DESIGN\n//! section 7: …" -> "…\n//! docs/DESIGN.md#7-…: …"
    echo "s#[ ]DESIGN(\\.md)?(\\n[[:space:]]*(//[/!]?|\\*|\\#))[[:space:]]+(section |§)$n([^0-9.]|\\.[^0-9])#\\2 docs/DESIGN.md\\#$a\\5#g"
    echo "s#DESIGN(\\.md)?[[:space:]]+(section |§)$n([^0-9.]|\\.[^0-9])#docs/DESIGN.md\\#$a\\3#g"
  done
  for n in 2.9 2.8 2.7 2.6 2.5 2.4 2.3 2.2 2.1 1.9 1.8 1.7 1.6 1.5 1.4 1.3 1.2 1.1 6 5 4 3 2 1 0; do
    a=$(reference_anchor "$n")
    re=${n//./\\.}
    echo "s#[ ]REFERENCE(\\.md)?(\\n[[:space:]]*(//[/!]?|\\*|\\#))[[:space:]]+(section |§)$re([^0-9.]|\\.[^0-9])#\\2 docs/INCWO-API.md\\#$a\\5#g"
    echo "s#REFERENCE(\\.md)?[[:space:]]+(section |§)$re([^0-9.]|\\.[^0-9])#docs/INCWO-API.md\\#$a\\3#g"
  done
} >"$script"

changed=0
while IFS= read -r -d '' file; do
  before=$(md5sum <"$file")
  sed -z -E -i -f "$script" "$file"
  if [ "$(md5sum <"$file")" != "$before" ]; then
    echo "fixed: $file"
    changed=$((changed + 1))
  fi
done < <(find "$@" -type f \( -name '*.rs' -o -name '*.md' -o -name '*.php' -o -name '*.py' -o -name '*.sh' \
  -o -name '*.mjs' -o -name '*.js' -o -name '*.ts' \) -print0)
echo "$changed file(s) changed"
if grep -rnE "$LEFT" "$@"; then
  echo "left for a hand edit (a form this script does not know)" >&2
  exit 1
fi
