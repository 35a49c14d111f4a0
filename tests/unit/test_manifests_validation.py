"""Every manifest the API server rejects, netprobe rejects too: with file, line, document,
field path, what is wrong and what to do (docs/semantics.md, "Validation")."""

from __future__ import annotations

import pytest

from netprobe.documents import parse_yaml_documents
from netprobe.errors import LocatedError
from netprobe.manifests import parse_objects

# Every test here runs through libyaml's parser and through the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

POLICY_HEAD = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: p, namespace: prod}\nspec:\n"
)


def policy(*spec_lines: str) -> str:
    """A NetworkPolicy document whose spec lines start on line 5."""
    return POLICY_HEAD + "".join(f"  {line}\n" for line in spec_lines)


def ingress_port(*port_lines: str) -> str:
    """A policy whose one ingress port entry starts on line 7."""
    return policy("ingress:", "- ports:", *(f"  {line}" for line in port_lines))


def ingress_peer(*peer_lines: str) -> str:
    """A policy whose one ingress peer entry starts on line 7."""
    return policy("ingress:", "- from:", *(f"  {line}" for line in peer_lines))


def selector(*lines: str) -> str:
    """A policy whose podSelector's first line is line 6."""
    return policy("podSelector:", *(f"  {line}" for line in lines))


PORT = "spec.ingress[0].ports[0]"
PEER = "spec.ingress[0].from[0]"
LONG = "a" * 64

# fmt: off
CASES = [
    # -- ports ---------------------------------------------------------------------------
    ("protocol-icmp", ingress_port("- protocol: ICMP"), 7, f"{PORT}.protocol",
     "protocol 'ICMP' is not supported (use TCP, UDP or SCTP)"),
    ("protocol-lowercase", ingress_port("- protocol: tcp"), 7, f"{PORT}.protocol",
     "did you mean 'TCP'?"),
    ("port-zero", ingress_port("- port: 0"), 7, f"{PORT}.port",
     "port 0 is out of range (use a number from 1 to 65535)"),
    ("port-too-big", ingress_port("- port: 65536"), 7, f"{PORT}.port",
     "port 65536 is out of range"),
    ("port-quoted-number", ingress_port("- port: '80'"), 7, f"{PORT}.port",
     "port name '80' must contain at least one letter (a quoted number is a port name"),
    ("port-name-too-long", ingress_port("- port: abcdefghijklmnop"), 7, f"{PORT}.port",
     "port name 'abcdefghijklmnop' is 16 characters long, the limit is 15"),
    ("port-name-uppercase", ingress_port("- port: HTTP"), 7, f"{PORT}.port",
     "may hold only lowercase letters, digits and '-' (try 'http')"),
    ("port-name-double-hyphen", ingress_port("- port: my--port"), 7, f"{PORT}.port",
     "must not contain '--'"),
    ("port-name-leading-hyphen", ingress_port("- port: -http"), 7, f"{PORT}.port",
     "must not begin or end with '-'"),
    ("port-float", ingress_port("- port: 80.5"), 7, f"{PORT}.port",
     "expected a port number or name, got number 80.5"),
    ("endport-without-port", ingress_port("- endPort: 90"), 7, f"{PORT}.endPort",
     "endPort needs a numeric port"),
    ("endport-below-port", ingress_port("- port: 90", "  endPort: 80"), 8, f"{PORT}.endPort",
     "endPort 80 is smaller than port 90"),
    ("endport-named-port", ingress_port("- port: http", "  endPort: 80"), 8,
     f"{PORT}.endPort", "endPort may not be used with the named port 'http'"),
    ("endport-too-big", ingress_port("- port: 80", "  endPort: 70000"), 8,
     f"{PORT}.endPort", "endPort 70000 is out of range"),
    ("endport-string", ingress_port("- port: 80", "  endPort: '90'"), 8,
     f"{PORT}.endPort", "expected an integer, got string '90'"),
    # -- peers ---------------------------------------------------------------------------
    ("ipblock-and-podselector",
     ingress_peer("- ipBlock: {cidr: 10.0.0.0/8}", "  podSelector: {}"), 7, PEER,
     "a peer may not combine ipBlock with podSelector (put the ipBlock in an entry of its own;"),
    ("ipblock-and-namespaceselector",
     ingress_peer("- namespaceSelector: {}", "  ipBlock: {cidr: 10.0.0.0/8}"), 7, PEER,
     "may not combine ipBlock with namespaceSelector"),
    ("empty-peer", ingress_peer("- {}"), 7, PEER,
     "a peer must set podSelector, namespaceSelector or ipBlock (to match every peer"),
    ("cidr-bad-octet", ingress_peer("- ipBlock: {cidr: 10.0.0.300/8}"), 7,
     f"{PEER}.ipBlock.cidr", "'10.0.0.300/8' is not a valid CIDR"),
    ("cidr-no-prefix", ingress_peer("- ipBlock: {cidr: 10.0.0.1}"), 7,
     f"{PEER}.ipBlock.cidr", "'10.0.0.1' is not a valid CIDR (write an address and a prefix"),
    ("cidr-netmask", ingress_peer("- ipBlock: {cidr: 10.0.0.0/255.0.0.0}"), 7,
     f"{PEER}.ipBlock.cidr", "is not a valid CIDR"),
    ("cidr-prefix-too-long", ingress_peer("- ipBlock: {cidr: 10.0.0.0/33}"), 7,
     f"{PEER}.ipBlock.cidr", "the prefix length of an IPv4 CIDR is at most 32"),
    ("cidr-ipv6-prefix-too-long", ingress_peer("- ipBlock: {cidr: 'fd00::/129'}"), 7,
     f"{PEER}.ipBlock.cidr", "the prefix length of an IPv6 CIDR is at most 128"),
    ("cidr-empty", ingress_peer("- ipBlock: {cidr: ''}"), 7, f"{PEER}.ipBlock.cidr",
     "a CIDR is required"),
    ("cidr-missing", ingress_peer("- ipBlock: {except: [10.0.0.0/8]}"), 7,
     f"{PEER}.ipBlock", "'cidr' is required"),
    ("except-outside", ingress_peer("- ipBlock:", "    cidr: 10.1.0.0/16",
                                    "    except: [10.2.0.0/24]"), 9,
     f"{PEER}.ipBlock.except[0]",
     "except 10.2.0.0/24 is not strictly inside cidr 10.1.0.0/16"),
    ("except-equal", ingress_peer("- ipBlock:", "    cidr: 10.1.0.0/16",
                                  "    except: [10.1.0.0/16]"), 9,
     f"{PEER}.ipBlock.except[0]", "is not strictly inside cidr"),
    ("except-wider", ingress_peer("- ipBlock:", "    cidr: 10.1.0.0/16",
                                  "    except:", "    - 10.1.2.0/24", "    - 10.0.0.0/8"), 11,
     f"{PEER}.ipBlock.except[1]", "except 10.0.0.0/8 is not strictly inside"),
    ("except-other-family", ingress_peer("- ipBlock:", "    cidr: 10.0.0.0/8",
                                         "    except: ['fd00::/64']"), 9,
     f"{PEER}.ipBlock.except[0]", "except fd00::/64 is IPv6 but cidr 10.0.0.0/8 is IPv4"),
    ("except-invalid", ingress_peer("- ipBlock:", "    cidr: 10.0.0.0/8",
                                    "    except: [10.0.0.0/99]"), 9,
     f"{PEER}.ipBlock.except[0]", "'10.0.0.0/99' is not a valid CIDR"),
    # -- policyTypes ---------------------------------------------------------------------
    ("policytype-unknown", policy("policyTypes: [Ingres]"), 5, "spec.policyTypes[0]",
     "'Ingres' is not a policy type (use Ingress or Egress; did you mean 'Ingress'?)"),
    ("policytype-lowercase", policy("policyTypes: [Ingress, egress]"), 5,
     "spec.policyTypes[1]", "'egress' is not a policy type"),
    ("policytype-duplicate", policy("policyTypes:", "- Egress", "- Egress"), 7,
     "spec.policyTypes[1]", "'Egress' is listed twice"),
    # -- label selectors -----------------------------------------------------------------
    ("label-key-two-slashes", selector("matchLabels: {app/x/y: a}"), 6,
     "spec.podSelector.matchLabels.app/x/y",
     "label key 'app/x/y' has a prefix 'app/x' that must be lowercase letters, digits, "
     "'-' and '.', starting and ending with a letter or digit (try 'app-x/y')"),
    ("label-key-uppercase-prefix", selector("matchLabels: {Example.com/app: a}"), 6,
     "spec.podSelector.matchLabels.Example.com/app", "has a prefix 'Example.com'"),
    ("label-key-leading-dash", selector("matchLabels: {-app: a}"), 6,
     "spec.podSelector.matchLabels.-app",
     "has a name part '-app' that must start and end with a letter or digit (try 'app')"),
    ("label-key-too-long", selector(f"matchLabels: {{{LONG}: a}}"), 6,
     f"spec.podSelector.matchLabels.{LONG}", "name part of 64 characters, the limit is 63"),
    ("label-key-empty-prefix", selector("matchLabels: {/app: a}"), 6,
     "spec.podSelector.matchLabels./app", "has an empty prefix"),
    ("label-value-space", selector("matchLabels: {app: 'my app'}"), 6,
     "spec.podSelector.matchLabels.app",
     "label value 'my app' may hold only letters, digits, '-', '_' and '.' (try 'my-app')"),
    ("label-value-too-long", selector(f"matchLabels: {{app: {LONG}}}"), 6,
     "spec.podSelector.matchLabels.app", "is 64 characters long, the limit is 63"),
    ("label-value-number", selector("matchLabels: {version: 1}"), 6,
     "spec.podSelector.matchLabels.version", "expected a string, got integer 1 (quote it"),
    ("operator-unknown", selector("matchExpressions:", "- {key: app, operator: in, values: [a]}"),
     7, "spec.podSelector.matchExpressions[0].operator",
     "'in' is not a selector operator (use one of In, NotIn, Exists, DoesNotExist; "
     "did you mean 'In'?)"),
    ("in-empty-values", selector("matchExpressions:", "- {key: app, operator: In, values: []}"),
     7, "spec.podSelector.matchExpressions[0].values", "operator In needs at least one value"),
    ("notin-no-values", selector("matchExpressions:", "- {key: app, operator: NotIn}"), 7,
     "spec.podSelector.matchExpressions[0]", "operator NotIn needs at least one value"),
    ("exists-with-values",
     selector("matchExpressions:", "- key: app", "  operator: Exists", "  values: [a]"), 9,
     "spec.podSelector.matchExpressions[0].values", "operator Exists takes no values"),
    ("doesnotexist-with-values",
     selector("matchExpressions:", "- {key: app, operator: DoesNotExist, values: [a]}"), 7,
     "spec.podSelector.matchExpressions[0].values", "operator DoesNotExist takes no values"),
    ("expression-key-invalid", selector("matchExpressions:", "- {key: 'a b', operator: Exists}"),
     7, "spec.podSelector.matchExpressions[0].key", "label key 'a b' has a name part"),
    ("expression-value-invalid",
     selector("matchExpressions:", "- {key: app, operator: In, values: [ok, 'not ok']}"), 7,
     "spec.podSelector.matchExpressions[0].values[1]", "label value 'not ok'"),
    ("expression-no-operator", selector("matchExpressions:", "- {key: app}"), 7,
     "spec.podSelector.matchExpressions[0]", "'operator' is required"),
    ("namespace-selector-invalid",
     ingress_peer("- namespaceSelector:", "    matchLabels: {team: 'a b'}"), 8,
     f"{PEER}.namespaceSelector.matchLabels.team", "label value 'a b'"),
    # -- unknown fields (strict field validation), with did-you-mean -------------------
    ("unknown-spec-field", policy("podSelectr: {}"), 5, "spec.podSelectr",
     "unknown field 'podSelectr' (did you mean 'podSelector'?)"),
    ("unknown-rule-field", policy("ingress:", "- form: []"), 6, "spec.ingress[0].form",
     "unknown field 'form' (did you mean 'from'?)"),
    ("from-in-egress", policy("egress:", "- from: []"), 6, "spec.egress[0].from",
     "unknown field 'from'"),
    ("unknown-peer-field", ingress_peer("- podselector: {}"), 7, f"{PEER}.podselector",
     "did you mean 'podSelector'?"),
    ("unknown-ipblock-field", ingress_peer("- ipBlock: {cidr: 10.0.0.0/8, expect: []}"), 7,
     f"{PEER}.ipBlock.expect", "did you mean 'except'?"),
    ("unknown-port-field", ingress_port("- port: 80", "  endport: 90"), 8, f"{PORT}.endport",
     "did you mean 'endPort'?"),
    ("unknown-selector-field", selector("matchLabel: {app: a}"), 6,
     "spec.podSelector.matchLabel", "did you mean 'matchLabels'?"),
    ("unknown-top-level-field", POLICY_HEAD + "  podSelector: {}\nspecs: {}\n", 6, "specs",
     "did you mean 'spec'?"),
    # -- shapes --------------------------------------------------------------------------
    ("ingress-not-a-list", policy("ingress: {from: []}"), 5, "spec.ingress",
     "expected a list, got mapping"),
    ("policytypes-not-a-list", policy("policyTypes: Ingress"), 5, "spec.policyTypes",
     "expected a list, got string 'Ingress'"),
    # -- identity and names --------------------------------------------------------------
    ("no-kind", "apiVersion: v1\nmetadata: {name: x}\n", 1, "", "'kind' is required"),
    ("no-apiversion", "kind: Pod\nmetadata: {name: x}\n", 1, "", "'apiVersion' is required"),
    ("no-metadata", "apiVersion: v1\nkind: Namespace\n", 1, "", "'metadata' is required"),
    ("no-name", "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: prod\n", 3, "metadata",
     "'name' is required"),
    ("kind-not-a-string", "apiVersion: v1\nkind: [Pod]\nmetadata: {name: x}\n", 2, "kind",
     "expected a string, got list"),
    ("policy-name-invalid",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: My_Policy\n",
     4, "metadata.name",
     "'My_Policy' is not a valid NetworkPolicy name: it must be lowercase letters, digits, "
     "'-' and '.', starting and ending with a letter or digit (try 'my-policy')"),
    ("namespace-of-policy-invalid",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
     "metadata:\n  name: p\n  namespace: Prod\n",
     5, "metadata.namespace",
     "'Prod' is not a valid namespace name: it must be lowercase letters, digits and '-', "
     "starting and ending with a letter or digit (try 'prod')"),
    ("namespace-name-invalid", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", 4,
     "metadata.name", "'a.b' is not a valid Namespace name"),
    ("namespace-name-too-long", f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {LONG}\n",
     4, "metadata.name", "is 64 characters long, the limit is 63"),
    ("pod-name-invalid", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-\n", 4,
     "metadata.name", "'web-' is not a valid Pod name"),
    ("pod-label-invalid",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: -web\n", 6,
     "metadata.labels.app",
     "label value '-web' must start and end with a letter or digit (try 'web')"),
    # -- pods ----------------------------------------------------------------------------
    ("container-port-zero",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
     "  - name: c\n    ports:\n    - containerPort: 0\n", 8,
     "spec.containers[0].ports[0].containerPort", "containerPort 0 is out of range"),
    ("container-port-missing",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
     "  - name: c\n    ports:\n    - name: http\n", 8, "spec.containers[0].ports[0]",
     "'containerPort' is required"),
    ("container-port-protocol",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
     "  - name: c\n    ports:\n    - {containerPort: 80, protocol: ICMP}\n", 8,
     "spec.containers[0].ports[0].protocol", "protocol 'ICMP' is not supported"),
    ("container-port-name",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
     "  - name: c\n    ports:\n    - {containerPort: 80, name: Web_Port}\n", 8,
     "spec.containers[0].ports[0].name", "port name 'Web_Port'"),
    ("pod-ip-invalid",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nstatus:\n  podIP: 10.0.0.256\n", 5,
     "status.podIP", "'10.0.0.256' is not an IPv4 or IPv6 address"),
    ("pod-ips-invalid",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nstatus:\n  podIPs:\n  - ip: nope\n", 6,
     "status.podIPs[0].ip", "'nope' is not an IPv4 or IPv6 address"),
    ("host-network-not-bool",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: 'yes'\n", 5,
     "spec.hostNetwork", "expected true or false"),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "line", "path", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_rejected_like_the_api_server(text: str, line: int, path: str, fragment: str) -> None:
    with pytest.raises(LocatedError) as info:
        parse_objects(parse_yaml_documents(text, "bad.yaml"), warn=_no_warnings)
    error = info.value
    assert (error.location.file, error.location.line, error.location.path) == (
        "bad.yaml",
        line,
        path,
    ), str(error)
    assert fragment in str(error)
    assert str(error).startswith(f"bad.yaml:{line} {path}".rstrip() + ":")


def test_case_ids_are_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


def test_errors_in_later_documents_name_the_document() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n" + ingress_port("- port: 0")
    with pytest.raises(LocatedError) as info:
        parse_objects(parse_yaml_documents(text, "two.yaml"), warn=_no_warnings)
    assert str(info.value).startswith(
        "two.yaml:11 (document 2) spec.ingress[0].ports[0].port: port 0 is out of range"
    )


def test_errors_inside_a_list_name_the_item() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: ok}\n"
        "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n"
        "  metadata: {name: p}\n  spec:\n    policyTypes: [Sideways]\n"
    )
    with pytest.raises(LocatedError) as info:
        parse_objects(parse_yaml_documents(text, "list.yaml"), warn=_no_warnings)
    assert str(info.value).startswith("list.yaml:11 items[1].spec.policyTypes[0]: 'Sideways'")


def _no_warnings(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")
