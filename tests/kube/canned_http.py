"""urllib3's pool, stood in for: the real client's REST calls are recorded and answered
from a script, so tests see exactly the HTTP requests the gateway sends."""

from __future__ import annotations

import json
from typing import Any


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.reason = {200: "OK", 201: "Created", 403: "Forbidden", 404: "Not Found"}.get(
            status, "X"
        )
        self.data = json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}

    def getheaders(self) -> dict[str, str]:
        return self.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def read(self) -> bytes:
        return self.data

    def release_conn(self) -> None:
        pass


class Http:
    """Stands in for urllib3's pool: records requests, answers from a script (or, when the
    script is empty, with ``default``)."""

    def __init__(self, default: Any = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Any] = []
        self.default = default

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.requests.append({"method": method, "url": url, **kwargs})
        if not self.answers and self.default is not None:
            return self.default
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def clear(self) -> None:
        pass
