"""The OpenAPI document and the health check are served without credentials."""

from __future__ import annotations

from rest_framework.test import APIClient


def test_the_openapi_schema_describes_every_endpoint(db: None) -> None:
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {
        "/api/v1/tokens",
        "/api/v1/service-accounts",
        "/api/v1/service-accounts/{name}/api-keys",
        "/api/v1/agents",
        "/api/v1/resources",
        "/api/v1/resources/{name}",
        "/api/v1/grants",
        "/api/v1/grants/{grant_id}/revoke",
        "/api/v1/audit/events",
    }
    assert schema["components"]["securitySchemes"]["ApiKey"]["in"] == "header"


def test_the_health_check_answers_ok(db: None) -> None:
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
