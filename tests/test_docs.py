"""Documentation keeps up with the code: every setting is described."""

from __future__ import annotations

from pathlib import Path

from laoke.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    operations = (DOCS / "operations.md").read_text()
    missing = [name for name in Settings.model_fields if f"LAOKE_{name.upper()}" not in operations]
    assert missing == [], f"describe these in docs/operations.md: {missing}"
