"""A fake OpenAI-compatible chat endpoint on 127.0.0.1 for the LLM drafter's tests.

It answers ``POST /v1/chat/completions`` as scripted (a completion, any status and body, or a
request it never answers) and records every request it received: path, headers, JSON body.

    with FakeOpenAI() as server:
        server.script(completion("Thank you, Sam!"), Answer(status=500))
        drafter = LLMDrafter(LLMSettings(base_url=server.base_url, model="m"))
        ...
        server.requests[0].json["messages"]
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.localserver import LocalServer

# A hanging answer gives up after this long even if the test forgets to stop the server.
_MAX_HANG_S = 30.0


@dataclass
class Answer:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # read the request and never answer


def completion(content: Any, *, finish_reason: str = "stop", model: str = "fake-model") -> Answer:
    """A chat completion whose first choice says `content`, as OpenAI, Ollama and vLLM send it."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_710_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
    return json_answer(body)


def json_answer(body: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Request:
    """One request as the server received it; header names lowercased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.json["messages"]


class FakeOpenAI(LocalServer):
    """Start with ``with FakeOpenAI() as server:``. Unscripted requests get a plain completion."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with `answers` in order; the last one repeats."""
        with self._lock:
            self._answers = list(answers)

    def _next(self) -> Answer:
        with self._lock:
            if not self._answers:
                return completion("Thank you!")
            return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads `requests`; stderr stays quiet

            def do_GET(self) -> None:
                self._record()
                self._send(Answer(404, b'{"error": "not found"}'))

            def do_POST(self) -> None:
                self._record()
                if self.path != "/v1/chat/completions":
                    self._send(Answer(404, b'{"error": {"message": "no such route"}}'))
                    return
                answer = server._next()
                if answer.hang:
                    server._stopping.wait(_MAX_HANG_S)
                    return
                self._send(answer)

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Request(self.command, self.path, headers, body))

            def _send(self, answer: Answer) -> None:
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                self.close_connection = True

        return Handler
