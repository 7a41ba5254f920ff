#!/usr/bin/env bash
# make demo: starts ftserver on loopback, sends a generated file with ftclient (progress on a
# terminal), verifies what the server stored, fetches it back, and stops the server. The
# transfers use --checksum sha256 so that their digests can be compared with sha256sum's.
set -euo pipefail
BIN=${1:-.build/release}
SIZE_MIB=${DEMO_SIZE_MIB:-256}
work=$(mktemp -d "${TMPDIR:-/tmp}/floe-demo.XXXXXX")
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "demo: generating a ${SIZE_MIB} MiB file"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$work/demo.bin"

mkdir -p "$work/root"
"$BIN/ftserver" --root "$work/root" --endpoints "tcp -h 127.0.0.1 -p 0" 2> "$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on .* -p \([0-9]*\).*/\1/p' "$work/server.log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.05
done
[ -n "$port" ] || { echo "demo: ftserver did not start"; cat "$work/server.log"; exit 1; }
echo "demo: ftserver listening on 127.0.0.1:$port, root $work/root"

proxy="store:tcp -h 127.0.0.1 -p $port"
"$BIN/ftclient" send "$work/demo.bin" demo/demo.bin --proxy "$proxy" --chunk-size 1MiB --window 8 \
    --checksum sha256 | tee "$work/send.txt"
"$BIN/ftclient" ls demo --proxy "$proxy"
"$BIN/ftclient" get demo/demo.bin "$work/back.bin" --proxy "$proxy" --checksum sha256 | tee "$work/get.txt"
# The summaries print the digests as "sha256 <hex>".
sent_sha=$(sed -n 's/.*  sha256 \([0-9a-f]\{64\}\).*/\1/p' "$work/send.txt" | head -n1)
got_sha=$(sed -n 's/.*  sha256 \([0-9a-f]\{64\}\).*/\1/p' "$work/get.txt" | head -n1)

local_sha=$(sha256sum "$work/demo.bin" | cut -d' ' -f1)
stored_sha=$(sha256sum "$work/root/demo/demo.bin" | cut -d' ' -f1)
back_sha=$(sha256sum "$work/back.bin" | cut -d' ' -f1)
if [ "$local_sha" = "$stored_sha" ] && [ "$local_sha" = "$back_sha" ] \
    && [ "$local_sha" = "$sent_sha" ] && [ "$local_sha" = "$got_sha" ]; then
    echo "demo: verified: sent, stored and fetched files are identical (sha256 $local_sha, as ftclient reported)"
else
    echo "demo: MISMATCH: local $local_sha stored $stored_sha fetched $back_sha; ftclient sent $sent_sha got $got_sha"
    exit 1
fi
