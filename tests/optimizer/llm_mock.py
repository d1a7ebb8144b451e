"""A scripted Anthropic Messages API behind httpx2.MockTransport (real anthropic + instructor code)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class ScriptedAnthropic:
    """Answers each request with the next scripted tool input (the last one repeats)."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        text = request.content.decode()
        body = json.loads(text)
        self.raw.append(text)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        tool_input = reply(body) if callable(reply) else reply
        return httpx2.Response(
            200,
            json={
                "id": f"msg_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"toolu_{len(self.requests)}",
                        "name": body["tools"][0]["name"],
                        "input": tool_input,
                    }
                ],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 10},
            },
        )

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))
