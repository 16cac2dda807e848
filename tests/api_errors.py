"""The API's uniform error body, asserted the same way by every API test file."""

from __future__ import annotations

from werkzeug.test import TestResponse


def assert_errors(response: TestResponse, status: int, fields: set[str]) -> dict[str, list[str]]:
    """The uniform error body: {"errors": {field: [non-empty messages]}}."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"errors"}
    errors: dict[str, list[str]] = body["errors"]
    assert set(errors) == fields
    for messages in errors.values():
        assert messages
        assert all(isinstance(m, str) and m for m in messages)
    return errors
