"""The string formats of ``k8s.io/apimachinery/pkg/util/validation`` (validation.go), each a
function returning upstream's list of messages (empty when the value is valid).

Mirrors Kubernetes 1.34: ``IsDNS1123Label``, ``IsDNS1123Subdomain``, ``IsQualifiedName``,
``IsValidLabelValue``, ``IsValidPortName``, ``IsValidPortNum``, ``IsValidUserID``,
``IsValidGroupID``, ``IsRelaxedEnvVarName``, and the helpers ``RegexError``, ``MaxLenError``,
``EmptyError``, ``InclusiveRangeError``. The messages are upstream's text, byte for byte.
Also ``parse_cidr_sloppy`` (``k8s.io/utils/net`` ``ParseCIDRSloppy``). Pure: no IO.
"""

from __future__ import annotations

import ipaddress
import re

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
RELAXED_ENV_VAR_ERR = (
    "a valid environment variable name must consist only of printable ASCII characters other "
    "than '='"
)
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
MAX_ID = 2147483647
"""``maxUserID``/``maxGroupID`` (math.MaxInt32) of validation.go."""

_LABEL = re.compile(f"^{DNS1123_LABEL_FMT}$")
_SUBDOMAIN = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_QUALIFIED = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_LABEL_VALUE = re.compile(f"^{LABEL_VALUE_FMT}$")
_PORT_NAME_CHARSET = re.compile("^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile("[a-z]")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``RegexError``: each example is followed by ", " and the next one by " or ", hence
    upstream's double space (``'my-name',  or '123-abc'``)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def go_len(value: str) -> int:
    """Go's ``len`` of a string: its UTF-8 bytes."""
    return len(value.encode())


def _full(pattern: re.Pattern[str], value: str) -> bool:
    # Go's regexp "^...$" has no trailing-newline allowance, unlike Python's "$".
    return pattern.fullmatch(value) is not None


def dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``."""
    errs = []
    if go_len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _full(_LABEL, value):
        if _full(_SUBDOMAIN, value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    """``IsDNS1123Subdomain``."""
    errs = []
    if go_len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _full(_SUBDOMAIN, value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def qualified_name(value: str) -> list[str]:
    """``IsQualifiedName`` (a label key): an optional DNS-subdomain prefix and '/', then a
    name of at most 63 characters. 1.34 still says "a qualified name" for a value with more
    than one '/' (later releases moved this to ``content.IsLabelKey``, "a valid label key")."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(prefix)]
    else:
        example = regex_error(
            QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"
        )
        return [
            f"a qualified name {example} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif go_len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _full(_QUALIFIED, name):
        example = regex_error(
            QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"
        )
        errs.append("name part " + example)
    return errs


def label_value(value: str) -> list[str]:
    """``IsValidLabelValue``."""
    errs = []
    if go_len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _full(_LABEL_VALUE, value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def port_name(value: str) -> list[str]:
    """``IsValidPortName`` (IANA_SVC_NAME)."""
    errs = []
    if go_len(value) > 15:
        errs.append(max_len_error(15))
    if not _full(_PORT_NAME_CHARSET, value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(value: int) -> list[str]:
    """``IsValidPortNum``: 1..65535."""
    return [] if 1 <= value <= 65535 else [inclusive_range_error(1, 65535)]


def user_id(value: int) -> list[str]:
    """``IsValidUserID`` (and ``IsValidGroupID``, the same range)."""
    return [] if 0 <= value <= MAX_ID else [inclusive_range_error(0, MAX_ID)]


def relaxed_env_var_name(value: str) -> list[str]:
    """``IsRelaxedEnvVarName`` (RelaxedEnvironmentVariableValidation is on by default in 1.34)."""
    errs = []
    if not value:
        errs.append("environment variable name " + empty_error())
    if any(ord(c) > 0x7F or not c.isprintable() or c == "=" for c in value):
        errs.append(RELAXED_ENV_VAR_ERR)
    return errs


def parse_cidr_sloppy(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``netutils.ParseCIDRSloppy``: Go 1.16's ``net.ParseCIDR``, which allows leading zeros
    in IPv4 octets and in the prefix length and host bits beyond the prefix; the network
    (masked) it returns, or None when Go would fail."""
    address, slash, prefix = value.partition("/")
    if not slash or not prefix.isascii() or not prefix.isdigit():
        return None
    if "." in address and ":" not in address:
        octets = address.split(".")
        if len(octets) != 4 or not all(o.isascii() and o.isdigit() and len(o) <= 3 for o in octets):
            return None
        address = ".".join(str(int(o)) for o in octets)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and "%" in address:
        return None
    bits = int(prefix)
    if bits > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{bits}", strict=False)
