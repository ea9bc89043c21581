"""merge import and messaging

Revision ID: 0b16b19571f9
Revises: 0bf9437b0819, 5fe9d8260695
Create Date: 2026-11-25 13:32:05.703288
"""

from collections.abc import Sequence

revision: str = "0b16b19571f9"
down_revision: str | Sequence[str] | None = ("0bf9437b0819", "5fe9d8260695")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
