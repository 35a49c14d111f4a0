"""A ConfigMap volume as the kubelet lays it out, for tests of what a pod mounting one sees.

The kubelet's AtomicWriter (kubernetes pkg/volume/util/atomic_writer.go) writes the files
into a hidden timestamped folder, points ``..data`` at it, and shows each key as a symlink
into ``..data``; it "reserves the set of pathnames starting with `..`"."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def configmap_volume(folder: Path, data: Mapping[str, str]) -> Path:
    """``folder`` holding ``data`` (key -> text) the way a ConfigMap volume mount does."""
    stamp = folder / "..2026_01_02_03_04_05.123456789"
    stamp.mkdir(parents=True)
    for key, text in data.items():
        (stamp / key).write_text(text, encoding="utf-8")
        (folder / key).symlink_to(Path("..data") / key)
    (folder / "..data").symlink_to(stamp.name)
    return folder
