#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Delete the kind cluster made by hack/kind-up.sh (KIND_CLUSTER, default netprobe-$CNI).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CNI="${CNI:-calico}"
CLUSTER="${KIND_CLUSTER:-netprobe-$CNI}"
need kind
if grep -qx "$CLUSTER" <<<"$(kind get clusters 2>/dev/null)"; then
  log "deleting kind cluster '$CLUSTER'"
  kind delete cluster --name "$CLUSTER"
else
  log "no kind cluster '$CLUSTER': nothing to delete"
fi
