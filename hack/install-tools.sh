#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Install the pinned kind, kubectl and helm (fixtures/kind/versions.env) into BIN_DIR
# (default ~/.local/bin), each checked against the checksum its project publishes.
# Used by CI; handy for a newcomer too. Docker is not installed here: see README.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BIN_DIR="${BIN_DIR:-$HOME/.local/bin}"
need curl tar
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "unsupported machine $(uname -m): install kind, kubectl and helm by hand" ;;
esac
case "$os" in linux | darwin) ;; *) die "unsupported OS $os: install kind, kubectl and helm by hand" ;; esac
if command -v sha256sum >/dev/null 2>&1; then SHA=(sha256sum); else SHA=(shasum -a 256); fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$BIN_DIR"

# fetch URL SUM_URL FILE: download URL to FILE and check it against the first word of SUM_URL.
fetch() {
  curl -fsSL --retry 3 -o "$tmp/$3" "$1"
  expected="$(curl -fsSL --retry 3 "$2" | awk '{print $1}')"
  actual="$("${SHA[@]}" "$tmp/$3" | awk '{print $1}')"
  [ "$expected" = "$actual" ] || die "checksum mismatch for $1"
}

log "kind $KIND_VERSION"
fetch "https://kind.sigs.k8s.io/dl/$KIND_VERSION/kind-$os-$arch" \
  "https://kind.sigs.k8s.io/dl/$KIND_VERSION/kind-$os-$arch.sha256sum" kind
install -m 0755 "$tmp/kind" "$BIN_DIR/kind"

log "kubectl $KUBECTL_VERSION"
fetch "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$os/$arch/kubectl" \
  "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$os/$arch/kubectl.sha256" kubectl
install -m 0755 "$tmp/kubectl" "$BIN_DIR/kubectl"

log "helm $HELM_VERSION"
fetch "https://get.helm.sh/helm-$HELM_VERSION-$os-$arch.tar.gz" \
  "https://get.helm.sh/helm-$HELM_VERSION-$os-$arch.tar.gz.sha256sum" helm.tar.gz
tar -xzf "$tmp/helm.tar.gz" -C "$tmp"
install -m 0755 "$tmp/$os-$arch/helm" "$BIN_DIR/helm"

case ":$PATH:" in
*":$BIN_DIR:"*) ;;
*) warn "$BIN_DIR is not on your PATH: export PATH=\"$BIN_DIR:\$PATH\"" ;;
esac
log "installed kind, kubectl and helm into $BIN_DIR"
