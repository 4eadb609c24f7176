#!/usr/bin/env bash
# Sets up, builds and starts attune-server in the foreground with the default data dir
# (<repo>/data) and the example models exported by python3-torch. Ctrl-C stops it cleanly.
#   gRPC   localhost:50051   (ATTUNE_LISTEN)
#   /metrics localhost:9464  (ATTUNE_METRICS_LISTEN)
# Any extra arguments go to attune-server (see `build/server/attune-server --help`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" --target attune-server attune attune_test_models
build=${ATTUNE_BUILD_DIR:-$top/build}
data=${ATTUNE_DATA_DIR:-$top/data}
repo="$data/repository"
if [ ! -f "$repo/cnn_bn/1/model.pt" ]; then
  mkdir -p "$repo"
  cp -r "$build/models/." "$repo/"
fi
echo "attune: data dir $data; CLI: $build/client/cli/attune --server localhost:50051 models list"
exec "$build/server/attune-server" --data-dir "$data" --model-repository "$repo" \
  --load-model cnn_bn --load-model mlp "$@"
