#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Create (or reuse) a kind cluster whose CNI enforces NetworkPolicy, install the CNI and
# wait until it really is ready: `kind create cluster --wait` cannot help when the default
# CNI is disabled (no node is Ready before a CNI exists, and kind only warns on timeout).
#
#   CNI=calico|cilium|kindnet   the profile (fixtures/kind/kind-$CNI.yaml); default calico
#   KIND_CLUSTER                cluster name; default netprobe-$CNI (context kind-$KIND_CLUSTER)
#   KIND_WAIT                   seconds each wait may take; default 300
#   PRELOAD=0                   do not pull the probe image and load it into the nodes
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CNI="${CNI:-calico}"
check_cni
CLUSTER="${KIND_CLUSTER:-netprobe-$CNI}"
CONTEXT="kind-$CLUSTER"
WAIT="${KIND_WAIT:-300}"
K=(kubectl --context "$CONTEXT")

need docker kind kubectl
if [ "$CNI" = cilium ]; then need helm; fi
docker info >/dev/null 2>&1 ||
  die "docker is installed but its daemon is not reachable: start it, or add yourself to the 'docker' group (then log in again)"

# retry SECONDS CMD...: run CMD every 2s until it succeeds (kubectl wait fails at once
# while the objects it waits for do not exist yet).
retry() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for: $*"
    sleep 2
  done
}

create_cluster() {
  if grep -qx "$CLUSTER" <<<"$(kind get clusters 2>/dev/null)"; then
    log "reusing kind cluster '$CLUSTER' (make kind-down CNI=$CNI to start afresh)"
    return
  fi
  log "creating kind cluster '$CLUSTER' ($CNI, $KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" \
    --config "$KIND_DIR/kind-$CNI.yaml"
}

install_calico() {
  local base="https://raw.githubusercontent.com/projectcalico/calico/$CALICO_VERSION/manifests"
  log "installing Calico $CALICO_VERSION (Tigera operator)"
  # create, not apply: the CRD bundle is too large for apply's last-applied annotation.
  if ! "${K[@]}" get crd installations.operator.tigera.io >/dev/null 2>&1; then
    "${K[@]}" create -f "$base/operator-crds.yaml"
  fi
  if ! "${K[@]}" get deployment -n tigera-operator tigera-operator >/dev/null 2>&1; then
    "${K[@]}" create -f "$base/tigera-operator.yaml"
  fi
  "${K[@]}" wait --for=condition=Established --timeout=60s crd/installations.operator.tigera.io
  "${K[@]}" apply -f "$KIND_DIR/calico-installation.yaml"
  log "waiting for Calico"
  retry "$WAIT" "${K[@]}" get tigerastatus calico
  "${K[@]}" wait --for=condition=Available --timeout="${WAIT}s" tigerastatus/calico
  retry "$WAIT" "${K[@]}" -n calico-system get pods -l k8s-app=calico-node -o name
  "${K[@]}" -n calico-system rollout status daemonset/calico-node --timeout="${WAIT}s"
}

install_cilium() {
  log "installing Cilium $CILIUM_VERSION (Helm chart)"
  helm repo add cilium https://helm.cilium.io >/dev/null 2>&1 || true
  helm repo update cilium >/dev/null
  helm upgrade --install cilium cilium/cilium --version "$CILIUM_VERSION" \
    --kube-context "$CONTEXT" --namespace kube-system \
    --values "$KIND_DIR/cilium-values.yaml"
  log "waiting for Cilium"
  "${K[@]}" -n kube-system rollout status daemonset/cilium --timeout="${WAIT}s"
  "${K[@]}" -n kube-system rollout status deployment/cilium-operator --timeout="${WAIT}s"
  # Since Cilium 1.16 the L7 proxy runs as its own DaemonSet (when enabled).
  if "${K[@]}" -n kube-system get daemonset cilium-envoy >/dev/null 2>&1; then
    "${K[@]}" -n kube-system rollout status daemonset/cilium-envoy --timeout="${WAIT}s"
  fi
}

preload_probe_image() {
  [ "${PRELOAD:-1}" = 1 ] || return 0
  local image
  image="${NETPROBE_IMAGE:-$("${PYTHON:-python3}" -c 'from netprobe.backends.kubernetes.bodies import DEFAULT_IMAGE; print(DEFAULT_IMAGE)' 2>/dev/null || true)}"
  if [ -z "$image" ]; then
    warn "netprobe is not importable (make install): the probe image is pulled by each node instead"
    return 0
  fi
  log "loading the probe image $image into the nodes"
  # A failed preload only costs time: each node then pulls the image itself.
  if ! { docker image inspect "$image" >/dev/null 2>&1 || docker pull "$image"; } ||
    ! kind load docker-image "$image" --name "$CLUSTER"; then
    warn "could not load $image into the nodes; they will pull it themselves"
  fi
}

create_cluster
case "$CNI" in
calico) install_calico ;;
cilium) install_cilium ;;
kindnet) ;;
esac
log "waiting for the nodes and cluster DNS"
"${K[@]}" wait --for=condition=Ready nodes --all --timeout="${WAIT}s"
"${K[@]}" -n kube-system rollout status deployment/coredns --timeout="${WAIT}s"
preload_probe_image
if [ ! -d /sys/module/sctp ]; then
  warn "the sctp kernel module is not loaded on this host: SCTP probe servers may not start (sudo modprobe sctp)"
fi
log "cluster '$CLUSTER' is ready with $CNI (kubectl --context $CONTEXT)"
