"""merge fraud checks and group deals

Revision ID: b4da54d8c5ef
Revises: 060a9267b7c1, 10f5b811ed3e
Create Date: 2026-12-04 18:54:28.558505
"""

from collections.abc import Sequence

revision: str = "b4da54d8c5ef"
down_revision: str | Sequence[str] | None = ("060a9267b7c1", "10f5b811ed3e")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
