"""The one module that imports ``kubernetes``: :class:`KubeGateway` on the official client.

Every REST call passes ``_request_timeout`` and ``_preload_content=False`` (the JSON is
decoded here into plain dicts, the same across client versions) and every client
exception is translated into the :class:`~.api.KubeApiError` tree with a message naming
what is missing. Exec follows the pitfalls in docs/kubernetes.md:

- ``kubernetes.stream.stream`` swaps a method on the ApiClient it is given for the length
  of the call (kubernetes-client/python#928), so execs never use the REST client: each
  exec worker thread owns its own ApiClient;
- the client's own timeouts do not bound the WebSocket handshake, so each exec runs on a
  worker and is abandoned (its socket closed, its client discarded) at a hard deadline;
- stdout, stderr and the error channel are read separately (``read_all`` would merge
  them and lose the exit code); the exit code is parsed in :mod:`.execstatus`;
- a stream that breaks off mid-exec raises websocket-client exceptions, which are not
  OSErrors: they become a result without an exit code (:func:`run_exec`), so the probes
  are ERROR for that round and retried. This module is also the only one importing
  ``websocket``.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException, OpenApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.stream import stream
from kubernetes.stream.ws_client import (
    ERROR_CHANNEL,
    STDERR_CHANNEL,
    STDIN_CHANNEL,
    STDOUT_CHANNEL,
)
from websocket import WebSocketException

from netprobe.backends.base import ExecResult
from netprobe.backends.kubernetes import kubeconfig
from netprobe.backends.kubernetes.api import (
    AccessCheck,
    AccessDecision,
    ConflictError,
    ForbiddenError,
    InvalidError,
    KubeApiError,
    NotFoundError,
    Obj,
    UnauthorizedError,
    UnreachableError,
)
from netprobe.backends.kubernetes.execinput import ExecInput, exec_input
from netprobe.backends.kubernetes.execpool import ExecWorkers, Handle
from netprobe.backends.kubernetes.execstatus import exec_result
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.errors import BackendError

T = TypeVar("T")
log = logging.getLogger(__name__)
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
CONNECT_TIMEOUT = 10.0
_HANDSHAKE = re.compile(r"Handshake status (\d{3})")


# Besides ConfigException, the client lets these escape from loading a kubeconfig
# (kubernetes/config/kube_config.py, 29.0.0 to 37.0.2): yaml.YAMLError and
# UnicodeDecodeError (a ValueError) from parsing the file, binascii.Error (a ValueError) from
# a *-data field that is not base64, and TypeError, AttributeError or KeyError from a file
# shaped otherwise than it assumes (``clusters: 5``, a top-level list).
_KUBECONFIG_ERRORS = (
    ConfigException,
    yaml.YAMLError,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
)


def load_configuration(options: KubeOptions) -> tuple[Any, str]:
    """The client Configuration and a description of where it came from: ``--kubeconfig``,
    ``$KUBECONFIG``, ``~/.kube/config``, else the in-cluster service account."""
    configuration = client.Configuration()
    path = options.kubeconfig
    default = Path.home() / ".kube" / "config"
    if path is not None or os.environ.get("KUBECONFIG") or default.is_file() or options.context:
        # The client reads $KUBECONFIG once, at import; read it now (a list of paths
        # separated by ':' is merged by the client, as kubectl does).
        files = str(path) if path else os.environ.get("KUBECONFIG") or str(default)
        _load_kubeconfig(files, options.context, configuration)
        source = f"kubeconfig {files}" + (f", context {options.context}" if options.context else "")
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        except ConfigException as exc:
            raise BackendError(f"cannot load the cluster configuration: {exc}") from exc
        source = "in-cluster service account"
    else:
        raise BackendError(
            "no cluster configured: pass --kubeconfig, set KUBECONFIG, create "
            "~/.kube/config, or run netprobe in a pod (in-cluster config)"
        )
    # urllib3 retries a refused connection 3 times by default; once is enough to tell a
    # blip from a dead server. A read is never retried: a server that took the request and
    # did not answer within the timeout will not do better the second time. Retry-After
    # answers are retried by ``ClientGateway._call`` alone (SERVER_RETRIES).
    configuration.retries = urllib3.Retry(total=1, read=0, respect_retry_after_header=False)
    return configuration, f"{configuration.host} ({source})"


def _load_kubeconfig(files: str, context: str | None, configuration: Any) -> None:
    hint = "fix it, or choose another with --kubeconfig or --context"
    try:
        with _root_log_captured() as logged:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=files,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (*_KUBECONFIG_ERRORS, OSError) as exc:
        raise BackendError(f"kubeconfig {_config_problem(files, context, exc)}; {hint}") from exc
    if logged:
        raise BackendError(f"kubeconfig {files}: {_plugin_failure(files, context, logged)}")


def _config_problem(files: str, context: str | None, exc: BaseException) -> str:
    """``FILE: what is wrong`` for a kubeconfig the client could not load."""
    if not kubeconfig.paths(files):
        return f"{files}: no such file"
    for path in kubeconfig.paths(files):
        problem = kubeconfig.file_problem(path)
        if problem:
            return f"{path}: {problem}"
    if isinstance(exc, ConfigException):
        return f"{files}{f', context {context}' if context else ''}: {_one_line(str(exc))}"
    if isinstance(exc, binascii.Error):
        return f"{files}: certificate or key data (a *-data field) is not valid base64"
    if isinstance(exc, OSError):
        return f"{files}: {exc}"
    return f"{files}: the client cannot use it ({type(exc).__name__}: {_one_line(str(exc))})"


def _plugin_failure(files: str, context: str | None, logged: list[str]) -> str:
    """The exec credential plugin's failure, from what the client logged while loading."""
    command = None
    with contextlib.suppress(*_KUBECONFIG_ERRORS, OSError):
        contexts, current = config.list_kube_config_contexts(files)  # type: ignore[no-untyped-call]
        chosen = (
            next((c for c in contexts if c.get("name") == context), None) if context else current
        )
        user = ((chosen or {}).get("context") or {}).get("user")
        command = kubeconfig.exec_command(files, str(user)) if user else None
    plugin = f"`{command}`" if command else "of the current user"
    return (
        f"the kubeconfig's exec credential plugin {plugin} failed: "
        f"{_one_line('; '.join(logged))} (run it by hand to see why, or log in again)"
    )


@contextlib.contextmanager
def _root_log_captured() -> Iterator[list[str]]:
    """The messages logged on the root logger during the block, kept off stderr.

    The client reports a failing exec credential plugin only with ``logging.error()`` and
    goes on without credentials (kube_config.py ``_load_from_exec_plugin``, 29.0.0 to
    37.0.2), and ``logging.error()`` on an unconfigured root logger installs a stderr
    handler for good (``logging.basicConfig``). A handler on the root logger keeps
    basicConfig away; a filter on it takes the client's records (logged on the root logger
    itself; records of other loggers only pass through its handlers)."""
    root = logging.getLogger()
    messages: list[str] = []

    def take(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            messages.append(record.getMessage())
        return False

    guard = logging.NullHandler()
    root.addHandler(guard)
    root.addFilter(take)
    try:
        yield messages
    finally:
        root.removeFilter(take)
        root.removeHandler(guard)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def connect(options: KubeOptions) -> ClientGateway:
    configuration, server = load_configuration(options)
    return ClientGateway(configuration, server, options.request_timeout, options.exec_workers)


def _status_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.reason or f"HTTP {exc.status}")


def translate(
    exc: BaseException, what: str, server: str, waited: float | None = None
) -> KubeApiError:
    """A netprobe error for a client exception, naming the operation and what to do;
    ``waited``: how long the call had been waiting for the server when it failed."""
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        handshake = _HANDSHAKE.search(str(exc.reason or ""))
        if status == 0 and handshake:
            status = int(handshake.group(1))
        message = _status_message(exc)
        if status == 401:
            return UnauthorizedError(
                f"{what}: the API server at {server} rejected the credentials (401): they "
                "are missing, wrong or expired; log in again or choose another --context",
                status,
            )
        if status == 403:
            return ForbiddenError(f"{what}: forbidden: {message}", status)
        if status == 404:
            return NotFoundError(f"{what}: not found: {message}", status)
        if status == 409:
            return ConflictError(f"{what}: conflict: {message}", status)
        if status in (400, 422):
            return InvalidError(f"{what}: rejected as invalid: {message}", status)
        if status == 0:
            return UnreachableError(f"{what}: cannot reach the API server at {server}: {message}")
        return KubeApiError(f"{what}: API server error {status}: {message}", status)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, Exception):
        exc = exc.reason  # the last attempt's error
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        # Also a TLS handshake that never completes, under the connect timeout (urllib3
        # connectionpool.py _make_request, 2.8.0): hence the time measured, not configured.
        within = f" within {round(waited, 1):g} s" if waited is not None else ""
        return UnreachableError(
            f"{what}: the API server at {server} accepted the connection but did not answer{within}"
        )
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return UnreachableError(
            f"{what}: the API server at {server} did not answer in HTTP ({exc}); is it "
            "an API server?"
        )
    if isinstance(exc, WebSocketException):
        # Not an OSError (websocket/_exceptions.py, 1.9.2); the client wraps those of the
        # handshake in an ApiException, so this is only a guard for other versions.
        return UnreachableError(
            f"{what}: the WebSocket connection to the API server at {server} failed "
            f"({type(exc).__name__}: {_one_line(str(exc))})"
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return UnreachableError(f"{what}: cannot reach the API server at {server}: {exc}")
    refused = _refused_fields(exc)
    if refused:
        return InvalidError(
            f"{what}: the kubernetes client {client.__version__} refused the object before "
            f"sending it: {refused}. A field this client's models do not have is one the "
            "API server of its Kubernetes version does not have either: check the spelling"
        )
    if isinstance(exc, OpenApiException | ValueError | TypeError):
        return InvalidError(f"{what}: the client rejected the request: {exc}")
    return KubeApiError(f"{what}: {type(exc).__name__}: {exc}")


SERVER_RETRIES = 10
"""Attempts of a request the API server answers with Retry-After, as client-go makes them
(k8s.io/client-go rest/request.go: ``checkWait`` waits on 429 and any status >= 500 that
carries an integer Retry-After, ``maxRetries`` 10); all waiting stops at
``--request-timeout``. A 429 is retried for every verb: kube-apiserver's priority and
fairness rejects such a request before acting on it. A 5xx is retried only for reads and
deletes: a create or patch answered 504 may have been done (a repeated create would then
meet its own object as a 409), so that one is reported instead. urllib3's own retries on
Retry-After (util/retry.py ``Retry.DEFAULT``) are turned off in :func:`load_configuration`
so that this is the one loop."""
_IDEMPOTENT = ("read_", "list_", "delete_")


def retry_after(exc: BaseException, idempotent: bool = True) -> int | None:
    """The seconds a 429 (or, for an idempotent request, 5xx) answer asks to wait before
    trying again; None otherwise."""
    if not isinstance(exc, ApiException) or exc.status is None:
        return None
    if not (exc.status == 429 or (idempotent and exc.status >= 500)):
        return None
    value = (exc.headers or {}).get("Retry-After", "")
    return int(value) if value.strip().isdigit() else None


_WIRE_ERRORS = (ApiException, OpenApiException, urllib3.exceptions.HTTPError, OSError, ValueError)


def _refused_fields(exc: BaseException) -> str:
    """``spec.bogus: Extra inputs are not permitted`` for the pydantic ValidationError the
    client's ``@validate_call`` methods raise (kubernetes 37: the models are pydantic, with
    ``extra="forbid"``, e.g. client/models/v1_network_policy.py); "" for anything else.
    The first element of each error's ``loc`` is the argument's position, not a field."""
    errors = getattr(exc, "errors", None)
    if not isinstance(exc, ValueError) or not callable(errors):
        return ""
    try:
        found = [
            ".".join(str(part) for part in error["loc"][1:]) + ": " + str(error["msg"])
            for error in errors()
        ]
    except (TypeError, KeyError):
        return ""
    return "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")


# -- exec -------------------------------------------------------------------------------


# What reading an open exec stream can raise: ``WSClient.update`` (kubernetes/stream/
# ws_client.py; read in 29.0.0, 35.0.0, 36.0.0, 36.0.3 and 37.0.2) calls websocket-client's
# ``recv_data_frame`` directly, not through ``websocket_call``'s wrapper, so its errors
# arrive unwrapped. In
# websocket-client 1.9.2 (websocket/_exceptions.py) they all derive from
# ``WebSocketException``, a plain Exception: ConnectionClosed (EOF: _socket.py ``recv``),
# Timeout, Protocol (a bad frame: _abnf.py ``ABNF.validate``, ``FrameBuffer``/
# ``continuous_frame.validate``), Payload (a text frame not UTF-8). Socket and TLS errors
# (ConnectionResetError, BrokenPipeError while answering a ping or a close, ssl.SSLError)
# are OSErrors; ``send_close`` raises ValueError for a bad status code.
_STREAM_ERRORS = (WebSocketException, OSError, ValueError)


def run_exec(
    api: Any,
    handle: Handle,
    namespace: str,
    pod: str,
    container: str,
    command: ExecInput,
    deadline: float,
) -> ExecResult:
    """One exec on ``api`` (a worker's own CoreV1Api), finishing by ``deadline``.

    A stream that breaks off (closed, reset, a malformed frame) is a result without an exit
    code, keeping what had arrived; a failed handshake raises the client's exception."""
    budget = max(0.1, deadline - time.monotonic())
    ws = _open_stream(api, namespace, pod, container, command, budget)
    if not handle.attach(ws):
        _close(ws)
        return ExecResult(None, "", "", timed_out=True)
    began = time.monotonic()
    broken: Exception | None = None
    still_open = False
    sending = command.stdin is not None
    try:
        if command.stdin is not None:
            _write_stdin(ws, command.stdin, deadline)
        sending = False
        ws.run_forever(timeout=max(0.05, deadline - time.monotonic()))
        still_open = ws.is_open()
        if still_open:
            ws.update(timeout=0)  # frames that arrived at the very end
    except _STREAM_ERRORS as exc:
        broken = exc
    finally:
        _close(ws)
    # Closed, the client only hands out what it buffered: ``read_channel`` -> ``update``
    # returns at once when not ``is_open()`` (ws_client.py, the same versions), so these
    # reads neither block nor touch the socket again.
    stdout = ws.read_channel(STDOUT_CHANNEL, timeout=0)
    stderr = ws.read_channel(STDERR_CHANNEL, timeout=0)
    if broken is not None:
        when = (
            f"while sending the {len(command.stdin or b'')}-byte script on stdin"
            if sending
            else "before the exit status arrived"
        )
        lost = (
            f"netprobe: exec stream to pod {namespace}/{pod} (container {container}) broke off "
            f"after {time.monotonic() - began:.1f}s, {when} "
            f"({type(broken).__name__}: {_one_line(str(broken)) or 'no message'})\n"
        )
        return ExecResult(None, stdout, _append_line(stderr, lost))
    error = "" if still_open else ws.read_channel(ERROR_CHANNEL, timeout=0)
    return exec_result(stdout, stderr, error, still_open)


def _open_stream(
    api: Any, namespace: str, pod: str, container: str, command: ExecInput, budget: float
) -> Any:
    """The handshake. Every failure in it comes out of ``websocket_call`` as
    ``ApiException(status=0, reason=str(error))`` (ws_client.py ``websocket_call``; read in
    29.0.0, 35.0.0, 36.0.0, 36.0.3 and 37.0.2), except on 36.x: its
    ``ApiClient.__call_api`` (client/api_client.py line 189 in 36.0.0 and 36.0.3; absent
    from 35.0.0 and 37.0.2) does ``e.body = e.body.decode('utf-8')`` on every
    ApiException, and this one's body is None, so an AttributeError comes out instead,
    the ApiException as its context. That one is raised in its place."""
    try:
        return stream(
            api.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=list(command.argv),
            container=container,
            stdin=command.stdin is not None,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
            _request_timeout=(min(CONNECT_TIMEOUT, budget), budget),
        )
    except AttributeError as exc:
        real = exc.__context__
        if isinstance(real, ApiException):
            raise real from None
        raise


def _write_stdin(ws: Any, data: bytes, deadline: float) -> None:
    """``data`` as one binary frame on channel 0, then, on v5.channel.k8s.io, the close of
    stdin (``WSClient.write_channel``: bytes go as ``OPCODE_BINARY`` with the channel byte
    in front; ``close_channel`` sends ``[255, 0]``, and nothing on v4; 36.0.3, 37.0.2).

    websocket-client sends a frame holding its lock until the last byte is taken
    (websocket/_core.py ``send_frame``, 1.9.2), and ``close`` needs that lock to send its
    close frame: to a server that stops reading, a blocking send would hold up whoever
    abandons the exec. So the socket gets the exec's deadline for the send."""
    sock = ws.sock
    previous = sock.gettimeout()
    sock.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        ws.write_stdin(data)
        ws.close_channel(STDIN_CHANNEL)
    finally:
        sock.settimeout(previous)


def _close(ws: Any) -> None:
    """Close without waiting, and release the socket. In websocket-client 1.9.2
    (websocket/_core.py) ``WebSocket.close`` otherwise waits up to 3 s for the server's
    close frame, which a stalled or broken server never sends (a result held back that
    long misses the caller's deadline); and it returns without closing the socket when
    ``connected`` is already False, as ``send_close`` leaves it after the server's close
    frame (the normal end of an exec), so ``shutdown`` closes the socket itself."""
    with contextlib.suppress(Exception):  # the stream is finished with either way
        ws.close(timeout=0)
    sock = getattr(ws, "sock", None)
    if sock is not None and hasattr(sock, "shutdown"):
        with contextlib.suppress(Exception):
            sock.shutdown()


def _append_line(text: str, line: str) -> str:
    return f"{text}{chr(10) if text and not text.endswith(chr(10)) else ''}{line}"


# -- the gateway ------------------------------------------------------------------------


class ClientGateway:
    """:class:`~.api.KubeGateway` on the official client (see the module docstring)."""

    def __init__(
        self, configuration: Any, server: str, request_timeout: float, exec_workers: int
    ) -> None:
        self._configuration = configuration
        self._server = server
        self._timeout = (min(CONNECT_TIMEOUT, request_timeout), request_timeout)
        rest = client.ApiClient(configuration)
        self._rest = rest
        self._core = client.CoreV1Api(rest)
        self._net = client.NetworkingV1Api(rest)
        self._coord = client.CoordinationV1Api(rest)
        self._apps = client.AppsV1Api(rest)
        self._authz = client.AuthorizationV1Api(rest)
        self._workers = ExecWorkers(self._exec_api, exec_workers)

    def _exec_api(self) -> Any:
        return client.CoreV1Api(client.ApiClient(self._configuration))

    @property
    def server(self) -> str:
        return self._server

    # -- plumbing -------------------------------------------------------------------
    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        started = time.monotonic()
        for attempt in range(1, SERVER_RETRIES + 1):
            try:
                response = method(
                    *args, _preload_content=False, _request_timeout=self._timeout, **kwargs
                )
                data = response.data
                break
            except _WIRE_ERRORS as exc:
                waited = time.monotonic() - started
                wait = retry_after(exc, idempotent=method.__name__.startswith(_IDEMPOTENT))
                if wait is None or attempt == SERVER_RETRIES or waited + wait > self._timeout[1]:
                    raise translate(exc, what, self._server, waited) from exc
                log.info("%s: %s, retrying in %d s as the API server asks", what, exc, wait)
                time.sleep(wait)
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError as exc:
            raise KubeApiError(f"{what}: the API server answered something not JSON") from exc
        return decoded if isinstance(decoded, dict) else {}

    def _read(self, what: str, method: Callable[..., Any], *args: Any) -> Obj | None:
        try:
            return self._call(what, method, *args)
        except NotFoundError:
            return None

    def _items(self, what: str, method: Callable[..., Any], *args: Any, **kw: Any) -> list[Obj]:
        return list(self._call(what, method, *args, **kw).get("items") or [])

    def _delete(self, what: str, method: Callable[..., Any], *args: Any, **kw: Any) -> bool:
        try:
            self._call(what, method, *args, **kw)
        except NotFoundError:
            return False
        return True

    # -- access ---------------------------------------------------------------------
    def review_access(self, checks: Sequence[AccessCheck]) -> tuple[AccessDecision, ...]:
        decisions = []
        for check in checks:
            attributes = {
                "verb": check.verb,
                "resource": check.resource,
                "group": check.group,
                **({"subresource": check.subresource} if check.subresource else {}),
                **({"namespace": check.namespace} if check.namespace else {}),
            }
            body = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            }
            answer = self._call(
                f"check access ({check})", self._authz.create_self_subject_access_review, body
            )
            status = answer.get("status") or {}
            decisions.append(
                AccessDecision(
                    check,
                    bool(status.get("allowed")) and not status.get("denied"),
                    str(status.get("reason") or ""),
                )
            )
        return tuple(decisions)

    # -- namespaces -----------------------------------------------------------------
    def read_namespace(self, name: str) -> Obj | None:
        return self._read(f"read namespace {name}", self._core.read_namespace, name)

    def list_namespaces(self, label_selector: str) -> list[Obj]:
        return self._items(
            "list namespaces", self._core.list_namespace, label_selector=label_selector
        )

    def create_namespace(self, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        return self._call(f"create namespace {name}", self._core.create_namespace, body)

    def patch_namespace_labels(self, name: str, labels: Mapping[str, str | None]) -> Obj:
        return self._call(
            f"relabel namespace {name}",
            self._core.patch_namespace,
            name,
            {"metadata": {"labels": dict(labels)}},
            _content_type=MERGE_PATCH,
        )

    def delete_namespace(self, name: str) -> bool:
        return self._delete(
            f"delete namespace {name}",
            self._core.delete_namespace,
            name,
            propagation_policy="Background",
        )

    # -- pods -----------------------------------------------------------------------
    def read_pod(self, namespace: str, name: str) -> Obj | None:
        return self._read(
            f"read pod {namespace}/{name}", self._core.read_namespaced_pod, name, namespace
        )

    def list_pods(self, namespace: str | None, label_selector: str) -> list[Obj]:
        if namespace is None:
            return self._items(
                "list pods in all namespaces",
                self._core.list_pod_for_all_namespaces,
                label_selector=label_selector,
            )
        return self._items(
            f"list pods in {namespace}",
            self._core.list_namespaced_pod,
            namespace,
            label_selector=label_selector,
        )

    def list_pod_selectors(self, namespace: str) -> list[tuple[str, Obj]]:
        found = [
            ("Service", item)
            for item in self._items(
                f"list services in {namespace}", self._core.list_namespaced_service, namespace
            )
        ]
        found += [
            ("ReplicationController", item)
            for item in self._items(
                f"list replicationcontrollers in {namespace}",
                self._core.list_namespaced_replication_controller,
                namespace,
            )
        ]
        for kind, method in (
            ("ReplicaSet", self._apps.list_namespaced_replica_set),
            ("StatefulSet", self._apps.list_namespaced_stateful_set),
            ("DaemonSet", self._apps.list_namespaced_daemon_set),
        ):
            found += [
                (kind, item)
                for item in self._items(f"list {kind}s in {namespace}", method, namespace)
            ]
        return found

    def create_pod(self, namespace: str, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        return self._call(
            f"create pod {namespace}/{name}", self._core.create_namespaced_pod, namespace, body
        )

    def patch_pod_labels(self, namespace: str, name: str, labels: Mapping[str, str | None]) -> Obj:
        return self._call(
            f"relabel pod {namespace}/{name}",
            self._core.patch_namespaced_pod,
            name,
            namespace,
            {"metadata": {"labels": dict(labels)}},
            _content_type=MERGE_PATCH,
        )

    def delete_pod(self, namespace: str, name: str) -> bool:
        return self._delete(
            f"delete pod {namespace}/{name}",
            self._core.delete_namespaced_pod,
            name,
            namespace,
            grace_period_seconds=0,
        )

    def add_ephemeral_container(self, namespace: str, name: str, container: Obj) -> Obj:
        # A dict body as strategic merge patch appends by name, as `kubectl debug` does.
        what = f"add ephemeral container to pod {namespace}/{name}"
        try:
            return self._call(
                what,
                self._core.patch_namespaced_pod_ephemeralcontainers,
                name,
                namespace,
                {"spec": {"ephemeralContainers": [container]}},
                _content_type=STRATEGIC_MERGE_PATCH,
            )
        except NotFoundError as exc:
            if self.read_pod(namespace, name) is None:
                raise
            raise BackendError(
                f"{what}: ephemeral containers are not available on this cluster "
                "(Kubernetes >= 1.25 needed)"
            ) from exc

    # -- policies -------------------------------------------------------------------
    def read_policy(self, namespace: str, name: str) -> Obj | None:
        return self._read(
            f"read NetworkPolicy {namespace}/{name}",
            self._net.read_namespaced_network_policy,
            name,
            namespace,
        )

    def list_policies(self, namespace: str | None, label_selector: str) -> list[Obj]:
        if namespace is None:
            return self._items(
                "list NetworkPolicies in all namespaces",
                self._net.list_network_policy_for_all_namespaces,
                label_selector=label_selector,
            )
        return self._items(
            f"list NetworkPolicies in {namespace}",
            self._net.list_namespaced_network_policy,
            namespace,
            label_selector=label_selector,
        )

    def create_policy(self, namespace: str, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        return self._call(
            f"create NetworkPolicy {namespace}/{name}",
            self._net.create_namespaced_network_policy,
            namespace,
            body,
        )

    def replace_policy(self, namespace: str, name: str, body: Obj) -> Obj:
        return self._call(
            f"replace NetworkPolicy {namespace}/{name}",
            self._net.replace_namespaced_network_policy,
            name,
            namespace,
            body,
        )

    def delete_policy(self, namespace: str, name: str) -> bool:
        return self._delete(
            f"delete NetworkPolicy {namespace}/{name}",
            self._net.delete_namespaced_network_policy,
            name,
            namespace,
        )

    # -- events ---------------------------------------------------------------------
    def list_events(self, namespace: str) -> list[Obj]:
        return self._items(
            f"list events in {namespace}", self._core.list_namespaced_event, namespace
        )

    # -- leases ---------------------------------------------------------------------
    def read_lease(self, namespace: str, name: str) -> Obj | None:
        return self._read(
            f"read Lease {namespace}/{name}", self._coord.read_namespaced_lease, name, namespace
        )

    def list_leases(self, namespace: str, label_selector: str) -> list[Obj]:
        return self._items(
            f"list Leases in {namespace}",
            self._coord.list_namespaced_lease,
            namespace,
            label_selector=label_selector,
        )

    def create_lease(self, namespace: str, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        return self._call(
            f"create Lease {namespace}/{name}",
            self._coord.create_namespaced_lease,
            namespace,
            body,
        )

    def replace_lease(self, namespace: str, name: str, body: Obj) -> Obj:
        return self._call(
            f"renew Lease {namespace}/{name}",
            self._coord.replace_namespaced_lease,
            name,
            namespace,
            body,
        )

    def delete_lease(self, namespace: str, name: str) -> bool:
        return self._delete(
            f"delete Lease {namespace}/{name}",
            self._coord.delete_namespaced_lease,
            name,
            namespace,
        )

    # -- exec -----------------------------------------------------------------------
    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        deadline = time.monotonic() + timeout
        # The worker stops reading a little earlier, so that a command still running at
        # the deadline is reported with the output it had printed so far.
        soft_deadline = deadline - min(0.5, timeout * 0.2)
        what = f"exec in pod {namespace}/{pod} (container {container})"
        command = exec_input(argv)

        def run(api: Any, handle: Handle) -> ExecResult:
            return run_exec(api, handle, namespace, pod, container, command, soft_deadline)

        job = self._workers.submit(run)
        try:
            return job.future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            self._workers.abandon(job)
            return ExecResult(
                None, "", f"netprobe: exec abandoned at its {timeout:g}s deadline\n", True
            )
        except (*_WIRE_ERRORS, WebSocketException) as exc:
            # The handshake failed (a broken stream is a result, from run_exec).
            error = translate(exc, what, self._server)
            hints = []
            if command.stdin is not None and error.status in (400, 403, 422):
                # RBAC does not tell an exec with stdin from one without, but admission on
                # CONNECT pods/exec can: its object is the PodExecOptions. A
                # ValidatingAdmissionPolicy denies with 422 unless its validation names
                # another reason (k8s.io/api admissionregistration/v1 Validation.Reason:
                # "If not set, StatusReasonInvalid is used"); a webhook with its own code,
                # 400 at least (apiserver admission/plugin/webhook/errors ToStatusErr).
                hints.append(
                    f"this exec sent its {len(command.stdin)}-byte script on stdin "
                    "(stdin=true), as netprobe does with every script too long for the URL; "
                    "an admission policy or webhook on pods/exec may refuse that"
                )
            if isinstance(error, ForbiddenError):
                hints.append("exec needs both 'get' and 'create' on pods/exec")
            if hints:
                raise type(error)(f"{error}; {'; '.join(hints)}", error.status) from exc
            raise error from exc

    def close(self) -> None:
        self._workers.close()
        self._rest.close()  # type: ignore[no-untyped-call]
