#!/usr/bin/env bash
# Builds offsession, starts `offsession serve` on a fresh SQLite file with
# an account made by `offsession account create`, and runs graphql-http's
# server audit (audit.mjs) against it with the account's secret key. Exits
# non-zero on any MUST failure or SHOULD warning. Needs `npm ci` here first.
# .ci/run calls it; by hand: bash httpapi/audit/run.sh
set -euo pipefail
cd "$(dirname "$0")"
dir="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
echo "building offsession for the audit..."
(cd ../.. && go build -o "$dir/offsession" .)
export OFFSESSION_DATABASE_URL="sqlite://$dir/audit.db" OFFSESSION_LOG_LEVEL=warn
"$dir/offsession" account create audit >"$dir/account.txt"
key="$(sed -n 's/^ *secret key: *\(sk_[^ ]*\)$/\1/p' "$dir/account.txt")"
if [ -z "$key" ]; then echo "account create printed no secret key:"; cat "$dir/account.txt"; exit 1; fi
"$dir/offsession" serve -listen 127.0.0.1:0 >"$dir/serve.txt" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 120); do
  url="$(sed -n 's|^offsession serving GraphQL at \(http://[^ ]*/graphql\).*|\1|p' "$dir/serve.txt")"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [ -z "$url" ]; then echo "offsession serve did not start:"; cat "$dir/serve.txt"; exit 1; fi
echo "auditing $url"
node audit.mjs "$url" "$key"
