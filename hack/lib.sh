# Shared by the hack/*.sh scripts (sourced, not run): pins, messages, tool checks.
# shellcheck shell=bash source-path=SCRIPTDIR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIND_DIR="$ROOT/fixtures/kind"

# versions.env is plain KEY=value lines: export every pin to the commands we run.
set -a
# shellcheck source=../fixtures/kind/versions.env
. "$KIND_DIR/versions.env"
set +a

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# install_hint TOOL: how to get TOOL, at the pinned version where there is one.
install_hint() {
  case "$1" in
  docker) echo "install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop, then make sure 'docker info' works for your user" ;;
  kind) echo "run hack/install-tools.sh (kind $KIND_VERSION into ~/.local/bin), or 'go install sigs.k8s.io/kind@$KIND_VERSION' (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" ;;
  kubectl) echo "run hack/install-tools.sh (kubectl $KUBECTL_VERSION into ~/.local/bin), or see https://kubernetes.io/docs/tasks/tools/" ;;
  helm) echo "run hack/install-tools.sh (helm $HELM_VERSION into ~/.local/bin), or see https://helm.sh/docs/intro/install/" ;;
  *) echo "install $1" ;;
  esac
}

# need TOOL...: fail with an install hint for the first one missing from PATH.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (or not on PATH): $(install_hint "$tool")"
  done
}

# check_cni: CNI must name one of the kind profiles in fixtures/kind.
check_cni() {
  case "${CNI:-}" in
  calico | cilium | kindnet) ;;
  *) die "CNI='${CNI:-}' is not supported: use CNI=calico, CNI=cilium or CNI=kindnet" ;;
  esac
}
