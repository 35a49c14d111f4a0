"""The API server's spelling rules for names, label keys/values and port names."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netprobe.manifests.names import (
    dns_label_problem,
    dns_subdomain_problem,
    label_key_problem,
    label_value_problem,
    port_name_problem,
)

VALID = [
    (dns_label_problem, "a"),
    (dns_label_problem, "kube-system"),
    (dns_label_problem, "0abc9"),
    (dns_label_problem, "a" * 63),
    (dns_subdomain_problem, "web.v1-2"),
    (dns_subdomain_problem, "a" * 253),
    (label_key_problem, "app"),
    (label_key_problem, "kubernetes.io/metadata.name"),
    (label_key_problem, "app.kubernetes.io/part-of"),
    (label_key_problem, "A_b.C-9"),
    (label_key_problem, "example.com/" + "a" * 63),
    (label_value_problem, ""),
    (label_value_problem, "v1.2_3-X"),
    (label_value_problem, "a" * 63),
    (port_name_problem, "http"),
    (port_name_problem, "h2c-8080"),
    (port_name_problem, "a" * 15),
    (port_name_problem, "9a"),
]

INVALID = [
    (dns_label_problem, ""),
    (dns_label_problem, "a.b"),
    (dns_label_problem, "A"),
    (dns_label_problem, "a-"),
    (dns_label_problem, "a" * 64),
    (dns_subdomain_problem, "a..b"),
    (dns_subdomain_problem, ".a"),
    (dns_subdomain_problem, "a_b"),
    (dns_subdomain_problem, "a" * 254),
    (label_key_problem, ""),
    (label_key_problem, "/a"),
    (label_key_problem, "a/"),
    (label_key_problem, "a/b/c"),
    (label_key_problem, "Example.com/a"),
    (label_key_problem, "a b"),
    (label_key_problem, "_a"),
    (label_key_problem, "a" * 64),
    (label_key_problem, "a" * 254 + "/b"),
    (label_value_problem, "a b"),
    (label_value_problem, "-a"),
    (label_value_problem, "a."),
    (label_value_problem, "a" * 64),
    (label_value_problem, "a\n"),
    (port_name_problem, ""),
    (port_name_problem, "80"),
    (port_name_problem, "Http"),
    (port_name_problem, "a--b"),
    (port_name_problem, "a-"),
    (port_name_problem, "a_b"),
    (port_name_problem, "a" * 16),
]


@pytest.mark.parametrize(("check", "text"), VALID)
def test_accepted(check: Callable[[str], str | None], text: str) -> None:
    assert check(text) is None


@pytest.mark.parametrize(("check", "text"), INVALID)
def test_rejected(check: Callable[[str], str | None], text: str) -> None:
    assert check(text)
