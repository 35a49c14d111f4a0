"""The emulated API server: kube-apiserver's REST and exec surface for the resources
netprobe uses, over real HTTPS, for the real ``kubernetes`` client.

Requests go through what kube-apiserver does, in its order: authentication (bearer
token), authorization (:mod:`access`; a WebSocket exec needs both ``get`` and ``create`` on
``pods/exec``, KEP-4006's AuthorizePodWebsocketUpgradeCreatePermission, beta and on by
default since 1.35, kubernetes#134577), admission (defaulting, validation, Pod Security on
labelled namespaces, namespace lifecycle), storage (:mod:`store`). Exec runs the command in
the pod's sandbox on the :class:`~emulator.node.Node`. :class:`Faults` makes it misbehave on
purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulator import websocket as ws
from emulator.access import User
from emulator.node import Node
from emulator.store import RESOURCES, ApiError, Obj, Resource, Store, dump, forbidden

MERGE = "application/merge-patch+json"
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
STRATEGIC = "application/strategic-merge-patch+json"


@dataclass(frozen=True)
class Target:
    resource: Resource
    namespace: str
    name: str
    subresource: str

    @property
    def rbac_namespace(self) -> str:
        """The namespace RBAC sees: a namespace's own name for ``namespaces/NAME``
        (k8s.io/apiserver pkg/endpoints/request/requestinfo.go: "if the resource is
        namespaces, the namespace is the name")."""
        if self.resource.plural == "namespaces" and self.name:
            return self.name
        return self.namespace

    @property
    def rbac(self) -> str:
        return (
            f"{self.resource.plural}/{self.subresource}"
            if self.subresource
            else (self.resource.plural)
        )


def route(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    resource = RESOURCES.get(rest[0])
    if (
        resource is None
        or resource.group != group
        or (
            resource.namespaced != bool(namespace)
            and (len(rest) > 1 or resource.plural == "namespaces")
        )
    ):
        return None
    return Target(
        resource, namespace, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
    )


@dataclass
class Fault:
    """Misbehaviour for the requests ``matches`` accepts, ``times`` times (0: always)."""

    matches: Callable[[str, str], bool]
    """(method, path) -> whether this fault applies."""
    status: int = 0
    retry_after: int | None = None
    stall: float = 0.0
    """Seconds to sit on the request before doing anything (a hanging server)."""
    drop_after: int | None = None
    """Exec: close the TCP connection once this many output frames are sent (at the latest
    before the exit status, which never comes)."""
    times: int = 1
    used: int = 0


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.rules:
                if (fault.times == 0 or fault.used < fault.times) and fault.matches(method, path):
                    fault.used += 1
                    return fault
        return None


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        store: Store,
        node: Node,
        users: dict[str, User],
        tls: ssl.SSLContext,
        faults: Faults,
        log: list[str],
    ) -> None:
        self.store, self.node, self.users, self.tls, self.faults = store, node, users, tls, faults
        self.log = log
        self.errors: list[BaseException] = []
        self.exec_protocols = ws.PROTOCOLS
        self.execs: list[tuple[str, bool]] = []
        """(subprotocol, stdin) of every exec stream opened."""
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- one request -----------------------------------------------------------------
    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.server.log.append(f"{method} {parts.path}")
        body = self._body()
        fault = self.server.faults.take(method, parts.path)
        try:
            if fault is not None and fault.stall:
                time.sleep(fault.stall)
            if fault is not None and fault.status:
                headers = (
                    {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                )
                raise ApiError(fault.status, _reason(fault.status), "injected fault", None, headers)
            user = self._authenticate()
            if parts.path == "/version":
                return self._send(200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0"})
            if parts.path == REVIEWS and method == "POST":
                return self._send(201, _review(user, body or {}))
            target = route(parts.path)
            if target is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if target.subresource == "exec":
                return self._exec(user, target, parts.query, fault)
            self._send(
                200 if method != "POST" else 201, self._serve(user, method, target, query, body)
            )
        except ApiError as exc:
            self._send(exc.code, exc.status(), exc.headers)
        except OSError:
            pass  # the client went away (a test's fault, or its deadline)
        except Exception as exc:  # an emulator bug: answer 500, and let the tests see it
            self.server.errors.append(exc)
            with contextlib.suppress(OSError):
                self._send(500, ApiError(500, "InternalError", repr(exc)).status())

    def _body(self) -> Obj | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"the body is not JSON: {exc}") from exc
        return data if isinstance(data, dict) else None

    def _authenticate(self) -> User:
        # k8s.io/apiserver pkg/authentication/request/bearertoken/bearertoken.go: the
        # scheme is matched case-insensitively (the client's in-cluster loader sends
        # "bearer ..."), the token after one space.
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        user = self.server.users.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _authorize(self, user: User, verb: str, target: Target) -> None:
        group = target.resource.group
        namespace = target.rbac_namespace
        if not user.allowed(verb, group, target.rbac, namespace):
            message = user.denial(verb, group, target.rbac, namespace, target.name)
            raise ApiError(
                403,
                "Forbidden",
                message,
                {"name": target.name, "group": group, "kind": target.resource.plural},
            )

    def _serve(
        self, user: User, method: str, t: Target, query: dict[str, str], body: Obj | None
    ) -> Obj:
        store, resource = self.server.store, t.resource
        verb = {
            "GET": "get" if t.name else "list",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }[method]
        self._authorize(user, verb, t)
        if verb == "list":
            return store.list(resource, t.namespace or None, query.get("labelSelector", ""))
        if verb == "get":
            return store.get(resource, t.namespace, t.name)
        if body is None and verb in ("create", "update", "patch"):
            raise ApiError(400, "BadRequest", "the request has no body")
        if verb == "create":
            assert body is not None
            return store.create(resource, t.namespace, body)
        if verb == "update":
            assert body is not None
            return store.replace(resource, t.namespace, t.name, body)
        if verb == "patch":
            assert body is not None
            kind = self.headers.get("Content-Type", "").split(";")[0].strip()
            if kind not in (MERGE, STRATEGIC):
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted "
                    f"media types include: {MERGE}, {STRATEGIC}",
                )
            if t.subresource not in ("", "ephemeralcontainers"):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return store.patch(
                resource,
                t.namespace,
                t.name,
                body,
                "merge" if kind == MERGE else "strategic",
                t.subresource,
            )
        grace = query.get("gracePeriodSeconds")
        if grace is None and body is not None and body.get("gracePeriodSeconds") is not None:
            grace = str(body["gracePeriodSeconds"])
        return store.delete(
            resource, t.namespace, t.name, int(grace) if grace is not None else None
        )

    def _send(self, code: int, obj: Obj, headers: dict[str, str] | None = None) -> None:
        data = dump(obj)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # -- exec ------------------------------------------------------------------------
    def _exec(self, user: User, target: Target, raw_query: str, fault: Fault | None) -> None:
        query = parse_qs(raw_query)
        argv = query.get("command", [])
        for verb in ("get", "create"):
            self._authorize(user, verb, target)
        pod = self.server.store.get(target.resource, target.namespace, target.name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        names += [c["name"] for c in pod["spec"].get("ephemeralContainers") or ()]
        container = (query.get("container") or [names[0] if len(names) == 1 else ""])[0]
        # pkg/registry/core/pod/strategy.go ExecLocation -> streamLocation
        if not container:
            raise ApiError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {target.name}, choose one of: {names}",
            )
        if container not in names:
            raise ApiError(
                400, "BadRequest", f"container {container} is not valid for pod {target.name}"
            )
        if not pod["spec"].get("nodeName"):
            raise ApiError(400, "BadRequest", f"pod {target.name} does not have a host assigned")
        if not argv:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if not self.server.node.running(target.namespace, target.name, container):
            raise ApiError(400, "BadRequest", f'container not found ("{container}")')
        if self.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(400, "BadRequest", "Upgrade request required")
        offered = self.headers.get("Sec-WebSocket-Protocol", "")
        protocol = ws.choose_protocol(offered, self.server.exec_protocols)
        if protocol is None:
            raise ApiError(403, "Forbidden", "no supported subprotocol was offered")
        stdin = query.get("stdin", ["false"])[0] in ("true", "1")
        self.server.execs.append((protocol, stdin))
        self.close_connection = True
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws.accept_key(self.headers["Sec-WebSocket-Key"]))
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        self.wfile.flush()
        Stream(
            self.connection,
            protocol,
            self.server.node.spawn(target.namespace, target.name, argv, stdin),
            fault,
        ).run()


class Stream:
    """One exec: the process's output to the client as channel frames, the client's
    stdin to the process, then the exit status on the error channel and a close."""

    def __init__(
        self, conn: socket.socket, protocol: str, process: Any, fault: Fault | None
    ) -> None:
        self.conn, self.protocol, self.process, self.fault = conn, protocol, process, fault
        self.sent = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        reader = threading.Thread(target=self._from_client, daemon=True)
        reader.start()
        try:
            if not self._output():
                self._kill()
                return  # dropped on purpose: no status, no close frame
            code = self.process.wait()
            self._send(ws.status_frame(_exit_status(code)) + ws.close_frame())
        except OSError:
            self._kill()
        finally:
            with contextlib.suppress(OSError):
                self.conn.close()
            reader.join(5)
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError, ValueError):
                        pipe.close()

    def _output(self) -> bool:
        """Forward the output; False when the fault dropped the connection instead."""
        pipes = {self.process.stdout.fileno(): ws.STDOUT, self.process.stderr.fileno(): ws.STDERR}
        while pipes:
            ready, _, _ = select.select(list(pipes), [], [], 1.0)
            for fd in ready:
                data = _read(fd)
                if not data:
                    del pipes[fd]
                    continue
                if self._dropping():
                    return False
                self._send(ws.channel(pipes[fd], data))
                self.sent += 1
        return not self._dropping(at_end=True)

    def _dropping(self, at_end: bool = False) -> bool:
        limit = None if self.fault is None else self.fault.drop_after
        if limit is None or (self.sent < limit and not at_end):
            return False
        self.conn.shutdown(socket.SHUT_RDWR)
        return True

    def _from_client(self) -> None:
        stdin = self.process.stdin
        try:
            while True:
                message = ws.read_message(self.conn)
                if message is None or message.opcode == ws.OP_CLOSE:
                    self._kill()
                    return
                if message.opcode == ws.OP_PING:
                    self._send(ws.frame(message.payload, ws.OP_PONG))
                    continue
                if message.opcode not in (ws.OP_TEXT, ws.OP_BINARY) or not message.payload:
                    continue
                number, data = message.payload[0], message.payload[1:]
                if number == ws.STDIN and stdin is not None:
                    stdin.write(data)
                    stdin.flush()
                elif number == ws.CLOSE and self.protocol.startswith("v5") and data[:1] == b"\0":
                    if stdin is not None:  # v5: the client closes stdin (channel 0)
                        stdin.close()
                    stdin = None
        except (OSError, ValueError):
            self._kill()

    def _send(self, data: bytes) -> None:
        with self.lock:
            self.conn.sendall(data)

    def _kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()


def _review(user: User, body: Obj) -> Obj:
    """A SelfSubjectAccessReview answered by the same rules as the requests."""
    attributes = (body.get("spec") or {}).get("resourceAttributes") or {}
    resource = attributes.get("resource", "")
    if attributes.get("subresource"):
        resource += "/" + attributes["subresource"]
    allowed = user.allowed(
        attributes.get("verb", ""),
        attributes.get("group", ""),
        resource,
        attributes.get("namespace", ""),
    )
    status: Obj = {"allowed": allowed}
    if allowed:
        status["reason"] = f'RBAC: allowed by ClusterRoleBinding "emulated" to User "{user.name}"'
    return {**body, "status": status}


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


def _exit_status(code: int) -> Obj:
    """What the kubelet puts on the error channel (k8s.io/client-go tools/remotecommand
    errorstream / kubelet cri streaming remotecommand/httpstream.go ``writeStatus``)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    shown = 128 - code if code < 0 else code  # killed by signal N: 128+N, as a shell says
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {shown}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(shown)}]},
    }


def _reason(code: int) -> str:
    return {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        410: "Expired",
        429: "TooManyRequests",
        500: "InternalError",
        503: "ServiceUnavailable",
    }.get(code, "Unknown")


__all__ = ["ApiServer", "Fault", "Faults", "forbidden", "route"]
