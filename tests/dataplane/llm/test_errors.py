"""llm_error_body: each provider's error shape, the one its SDK reads."""

import json

import pytest

from dataplane.llm import llm_error_body


def body(api: str, status: int, kind: str) -> dict[str, object]:
    return json.loads(llm_error_body(api, status, "something went wrong", kind))


def test_an_openai_error_has_message_type_param_and_code() -> None:
    assert body("openai", 400, "invalid_request_error") == {
        "error": {
            "message": "something went wrong",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_an_anthropic_error_is_typed_error_with_an_inner_type() -> None:
    assert body("anthropic", 400, "invalid_request_error") == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "something went wrong"},
    }


@pytest.mark.parametrize(
    ("kind", "openai", "anthropic"),
    [
        ("rate_limit_error", ("rate_limit_exceeded", "rate_limit_exceeded"), "rate_limit_error"),
        ("insufficient_quota", ("insufficient_quota", "insufficient_quota"), "rate_limit_error"),
        (
            "authentication_error",
            ("invalid_request_error", "invalid_api_key"),
            "authentication_error",
        ),
        ("permission_error", ("invalid_request_error", "permission_denied"), "permission_error"),
        ("not_found_error", ("invalid_request_error", "not_found"), "not_found_error"),
        ("api_error", ("server_error", None), "api_error"),
        ("timeout", ("timeout", "timeout"), "timeout_error"),
    ],
)
def test_each_kind_maps_to_the_provider_s_own_type(
    kind: str, openai: tuple[str, str | None], anthropic: str
) -> None:
    error = body("openai", 429, kind)["error"]
    assert (error["type"], error["code"]) == openai  # type: ignore[index]
    assert body("anthropic", 429, kind)["error"]["type"] == anthropic  # type: ignore[index]


def test_without_a_kind_the_status_picks_one() -> None:
    assert body("anthropic", 504, "")["error"]["type"] == "timeout_error"  # type: ignore[index]
    assert body("openai", 401, "")["error"]["code"] == "invalid_api_key"  # type: ignore[index]
