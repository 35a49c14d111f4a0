#!/usr/bin/env bash
# The Kubernetes-backend tests (and the emulated cluster's) with the lowest and the highest release of the kubernetes
# client that netprobe declares (netprobe/backends/kubernetes/clientversion.py SPEC, equal
# to pyproject.toml's), each installed alone in a directory put first on PYTHONPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
spec=$($PYTHON -c 'from netprobe.backends.kubernetes.clientversion import SPEC; print(SPEC)')
lowest=$($PYTHON -c 'from netprobe.backends.kubernetes.clientversion import LOWEST; print(".".join(map(str, LOWEST)))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$PYTHON -m pip download -q --no-deps -d "$work/lowest" "kubernetes==$lowest"
$PYTHON -m pip download -q --no-deps -d "$work/highest" "$spec"
tested=""
for bound in lowest highest; do
  wheel=$(ls "$work/$bound"/kubernetes-*.whl)
  version=$(basename "$wheel" | cut -d- -f2)
  case " $tested " in *" $version "*) echo "kubernetes $version ($bound): tested above"; continue;; esac
  $PYTHON -m pip install -q --no-deps --target "$work/site-$version" "$wheel"
  echo "kubernetes $version ($bound of $spec): tests/kube with"
  PYTHONPATH="$work/site-$version" $PYTHON -c 'import kubernetes; print(" ", kubernetes.__version__, kubernetes.__file__)'
  # tests/kube; and the real client against the emulated cluster: its API and exec tests,
  # and one whole run through it (they skip where the machine cannot make one)
  PYTHONPATH="$work/site-$version" $PYTHON -m pytest -q -p no:cacheprovider tests/kube \
    tests/emulator/test_emulator_api.py \
    "tests/emulator/test_emulated_runs.py::test_a_suite_runs_through_the_real_client_with_real_packets"
  tested="$tested $version"
done
