#!/usr/bin/env bash
# Starts attune-server (Release build) on loopback with the test models, runs attune-load against
# it and stops it. Defaults: 64 clients, 60 s measured after a 15 s warm-up.
#
#   ./bench/reliability/load.sh                       # 64 clients x 60 s
#   ./bench/reliability/load.sh --clients 8 --seconds 5 --warmup 2
# Environment: ATTUNE_BUILD_DIR (default <repo>/build).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${ATTUNE_BUILD_DIR:-$top/build}
server=$build/server/attune-server
load=$(find "$build" -name attune-load -type f -perm -u+x | head -n1)
[ -x "$server" ] && [ -n "$load" ] || { echo "load.sh: build attune-server and attune-load first" >&2; exit 1; }
work=$(mktemp -d /tmp/attune-load-XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
"$server" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$work/data" \
  --model-repository "$build/models" --load-model mlp --load-model cnn_bn --ready-file "$work/ready.json" \
  --max-sessions 128 --log-level warn >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
grpc=$(sed -n 's/.*"grpc_port": \([0-9]*\).*/\1/p' "$work/ready.json")
metrics=$(sed -n 's/.*"metrics_port": \([0-9]*\).*/\1/p' "$work/ready.json")
[ -n "$grpc" ] || { cat "$work/server.log"; exit 1; }
set +e
"$load" --server "127.0.0.1:$grpc" --metrics-port "$metrics" --clients 64 --seconds 60 --warmup 15 "$@"
rc=$?
set -e
kill -TERM $pid
wait $pid || true
exit $rc
