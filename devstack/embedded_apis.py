"""`make run`'s LLM and HTTP API demo: a fake model provider (devstack.model_upstream) behind
two resources the demo AI service account may call through the agent's HTTP listener.

- ``llm-demo``: an OpenAI-compatible model API; prompts are sent with PII replaced by
  placeholders and the answers restored (prompt privacy "reversible"); the agent adds the
  provider's API key, which the caller never sees.
- ``http-demo``: the provider's plain HTTP API under /api, read-only (GET, HEAD, OPTIONS).

The caller sends its gateway token as ``Authorization: Bearer`` (the OpenAI SDK: as its API
key) to ``https://<agent>/<resource>/<path>``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from devstack.gatehouse import ApiError, ControlPlane
from devstack.model_upstream import ModelUpstream

LLM_RESOURCE = "llm-demo"
HTTP_RESOURCE = "http-demo"
GRANT_SECONDS = 8 * 3600
DEMO_MODEL = "gpt-4o-mini"


def model_upstream(state: Path) -> ModelUpstream:
    """The fake provider, its files (log) under ``state``; started by the caller."""
    return ModelUpstream(state / "model-upstream")


def resources(upstream: ModelUpstream, *, agent: str) -> list[dict[str, Any]]:
    """The two demo resources as the resources API takes them."""
    common = {"host": "127.0.0.1", "port": upstream.port, "agent": agent}
    return [
        {
            "name": LLM_RESOURCE,
            "protocol": "llm",
            **common,
            "upstream_password": upstream.api_key,
            "http": {
                "scheme": "http",
                "auth": "header",
                "llm_api": "openai",
                "prompt_privacy": "reversible",
            },
        },
        {
            "name": HTTP_RESOURCE,
            "protocol": "http",
            **common,
            "http": {"scheme": "http", "base_path": "/api", "read_only": True},
        },
    ]


def set_up(cp: ControlPlane, upstream: ModelUpstream, *, agent: str, account: str) -> None:
    """Register (or bring back) both resources and give ``account`` a standing grant on
    each, renewed at every start like the database demo's."""
    for body in resources(upstream, agent=agent):
        _ensure(cp, body)
        cp.api(
            "POST",
            "/api/v1/grants",
            {
                "identity": account,
                "resource": body["name"],
                "duration_seconds": GRANT_SECONDS,
                "reason": "make run: demo access",
            },
        )


def _ensure(cp: ControlPlane, body: dict[str, Any]) -> None:
    try:
        cp.api("GET", f"/api/v1/resources/{body['name']}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        cp.api("POST", "/api/v1/resources", body)
        return
    # The provider's port changes from run to run.
    cp.api("PATCH", f"/api/v1/resources/{body['name']}", body)


def banner(*, http_port: int, token: str, cert: Path) -> str:
    """The banner's lines for calling both resources with the demo account's token (the
    agent's certificate is self-signed: clients are pointed at it)."""
    base = f"https://127.0.0.1:{http_port}"
    program = (
        "import httpx, openai; "
        f"c = openai.OpenAI(base_url='{base}/{LLM_RESOURCE}/v1', api_key='{token}', "
        f"http_client=httpx.Client(verify='{cert}')); "
        f"r = c.chat.completions.create(model='{DEMO_MODEL}', messages=[{{'role': 'user', "
        "'content': 'Write to alice@example.com about the invoice'}]); "
        "print(r.choices[0].message.content)"
    )
    curl = (
        f'curl --cacert {shlex.quote(str(cert))} -H "Authorization: Bearer {token}" '
        f"{base}/{HTTP_RESOURCE}/echo"
    )
    return f"""
LLM and HTTP APIs on the agent's HTTP listener, {base}/<resource>/ , with the same token
as the bearer token (the SDK's API key). "{LLM_RESOURCE}" is an OpenAI-compatible fake
provider; the model sees PII as placeholders and the answer comes back restored:

  {sys.executable} -c "{program}"

"{HTTP_RESOURCE}" is the provider's HTTP API under /api, read-only:

  {curl}

Calls are audited as llm.call and http.request.
"""
