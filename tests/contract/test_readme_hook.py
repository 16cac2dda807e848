"""The README's CDS Hooks exchange is what the service answers: its call, posted to
the app, gets its answer (all but the card's uuid, new for every call)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calc import create_app
from calc.web import ehr

README = Path(__file__).resolve().parents[2] / "README.md"
# The day the README's exchange was made: its labs are within the 7-day window then.
README_DAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def readme_block(name: str) -> Any:
    text = README.read_text("utf-8")
    found = re.search(rf"<!-- hook-{name} -->\n```json\n(.*?)\n```", text, re.S)
    assert found is not None, f"the README has no hook-{name} block"
    return json.loads(found.group(1))


def without_uuids(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        **answer,
        "cards": [{k: v for k, v in c.items() if k != "uuid"} for c in answer["cards"]],
    }


def test_the_readme_hook_call_gets_the_readme_answer() -> None:
    app = create_app(
        {
            "TESTING": True,
            "CDS_HOOKS_JWT": False,
            "PUBLIC_URL": "https://calc.hospital.test",
            "EHR_CLOCK": lambda: README_DAY,
        }
    )
    response = app.test_client().post(ehr.SERVICE, json=readme_block("call"))
    assert response.status_code == 200
    answer = response.get_json()
    expected = readme_block("answer")
    assert len(answer["cards"]) == len(expected["cards"]) == 1
    assert without_uuids(answer) == without_uuids(expected)
