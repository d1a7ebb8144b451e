"""The LLM as a Dagster resource: structured (pydantic-validated) outputs through instructor.

Providers: ``anthropic`` (online when the API key env var is set) and ``openai_compatible``
(any OpenAI-style server, e.g. Ollama; online when ``base_url`` is set, the key is optional).
Offline is a normal state, not an error: callers ask :attr:`LlmResource.online` and fall back
to heuristics. The key is read from the environment when a client is built and handed to the
SDK only; it is never logged, printed, stored or put in metadata.
"""

from __future__ import annotations

import logging
import os
from typing import Any, TypeVar

from dagster import ConfigurableResource
from pydantic import BaseModel, PrivateAttr

from datacody_dagster.config import LlmSettings
from datacody_dagster.errors import DatacodyError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

PROVIDERS = ("anthropic", "openai_compatible")


class LlmOffline(DatacodyError):
    """Raised when an LLM call is asked of an offline resource."""


class LlmResource(ConfigurableResource):
    """An LLM endpoint; see the module docstring for when it counts as online."""

    provider: str = "anthropic"
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    api_key_env: str = "ANTHROPIC_API_KEY"
    """Name of the environment variable holding the key (never the key itself)."""
    timeout_s: float = 60.0
    max_retries: int = 2
    """How many times instructor re-asks after an output fails validation."""
    max_tokens: int = 4096

    _http_client: Any = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> LlmResource:
        """The resource described by `llm:` in resources/<env>.yaml."""
        return cls(
            provider=settings.provider,
            model=settings.model,
            base_url=settings.base_url,
            api_key_env=settings.api_key_env,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    def with_http_client(self, http_client: Any) -> LlmResource:
        """A copy that sends requests through ``http_client`` (tests: a mocked transport)."""
        copy = self.model_copy()
        copy._http_client = http_client
        return copy

    def _key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None

    @property
    def online(self) -> bool:
        if self.provider not in PROVIDERS:
            return False
        if self.provider == "openai_compatible":
            return bool(self.base_url)
        return self._key() is not None

    def status(self) -> str:
        """A human-readable state that names the env var, never its value."""
        if self.provider not in PROVIDERS:
            return f"offline: unknown provider `{self.provider}` (use {' or '.join(PROVIDERS)})"
        if self.online:
            return f"online: {self.provider} model {self.model}"
        if self.provider == "openai_compatible":
            return "offline: set `llm.base_url` for the openai_compatible provider"
        return f"offline: set the environment variable {self.api_key_env} to use {self.provider}"

    def _instructor_client(self) -> Any:
        import instructor

        if not self.online:
            raise LlmOffline(f"the LLM is {self.status()}")
        if self.provider == "anthropic":
            import anthropic

            kwargs: dict[str, Any] = {"api_key": self._key(), "timeout": self.timeout_s, "max_retries": 1}
            if self.base_url:
                kwargs["base_url"] = self.base_url
            if self._http_client is not None:
                kwargs["http_client"] = self._http_client
            # Built here, not with from_provider: that one drops base_url.
            return instructor.from_anthropic(anthropic.Anthropic(**kwargs))
        import openai

        okwargs: dict[str, Any] = {
            "api_key": self._key() or "unused",
            "base_url": self.base_url,
            "timeout": self.timeout_s,
            "max_retries": 1,
        }
        if self._http_client is not None:
            okwargs["http_client"] = self._http_client
        return instructor.from_openai(openai.OpenAI(**okwargs), mode=instructor.Mode.JSON)

    def structured(
        self,
        response_model: type[T],
        *,
        system: str,
        user: str,
        context: dict[str, Any] | None = None,
    ) -> T:
        """Ask for a ``response_model``; invalid outputs are re-asked up to ``max_retries`` times.

        ``context`` reaches the model's validators (``info.context``). Raises
        ``instructor.core.InstructorRetryException`` when every attempt failed validation.
        """
        client = self._instructor_client()
        messages = [{"role": "user", "content": user}]
        if self.provider == "anthropic":
            return client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=messages,
                response_model=response_model,
                max_retries=self.max_retries,
                context=context,
            )
        return client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, *messages],
            response_model=response_model,
            max_retries=self.max_retries,
            context=context,
        )
