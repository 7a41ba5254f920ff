#!/usr/bin/env bash
# Runs the reference Python Ice 3.7 server (interop_server.py) against the Python conformance client
# (interop_client.py), i.e. real Ice against real Ice. Extra arguments go to the client (e.g.
# --only twoway,oneway --trace).
#
#   Tests/Interop/run_python_pair.sh                          # default Ice.MessageSizeMax
#   MSG_MAX=5120 Tests/Interop/run_python_pair.sh             # --message-size-max 5120 on both sides
#   SLICED=1 Tests/Interop/run_python_pair.sh                 # server with Ice.Default.SlicedFormat=1
#
# The same client runs against any other server implementing Test.ice:
#   /usr/bin/python3 interop_client.py --echo "echo:tcp -h 127.0.0.1 -p P1" \
#       --controller "controller:tcp -h 127.0.0.1 -p P2" [--message-size-max KB]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
SERVER_ARGS=()
CLIENT_ARGS=()
if [[ -n "${MSG_MAX:-}" ]]; then
    SERVER_ARGS+=(--message-size-max "$MSG_MAX")
    CLIENT_ARGS+=(--message-size-max "$MSG_MAX")
fi
if [[ -n "${SLICED:-}" ]]; then
    SERVER_ARGS+=(--sliced)
fi

WORK="$(mktemp -d)"
FIFO="$WORK/stdin"
mkfifo "$FIFO"
SERVER_PID=""
cleanup() {
    exec 3>&- 2>/dev/null || true          # stdin EOF -> the server shuts down by itself
    if [[ -n "$SERVER_PID" ]]; then
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The server's stdin is a FIFO held open by this script (fd 3): when the script exits for any reason,
# the server sees EOF and exits.
timeout 300 "$PY" "$HERE/interop_server.py" "${SERVER_ARGS[@]}" <"$FIFO" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
exec 3>"$FIFO"

READY=""
for _ in $(seq 100); do
    READY="$(grep -m1 '^READY ' "$WORK/server.out" 2>/dev/null || true)"
    [[ -n "$READY" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$READY" ]]; then
    echo "server did not become ready" >&2
    cat "$WORK/server.err" >&2
    exit 1
fi
read -r _ TEST_PORT CONTROL_PORT <<<"$READY"

set +e
timeout 300 "$PY" "$HERE/interop_client.py" \
    --echo "echo:tcp -h 127.0.0.1 -p $TEST_PORT" \
    --controller "controller:tcp -h 127.0.0.1 -p $CONTROL_PORT" \
    "${CLIENT_ARGS[@]}" "$@"
RC=$?
set -e
if [[ -s "$WORK/server.err" ]]; then
    echo "--- server stderr ---" >&2
    cat "$WORK/server.err" >&2
fi
exit $RC
