"""merge referrals and value model

Revision ID: 0628ca68462c
Revises: 858d3f86259f, e963cf076d56
Create Date: 2026-12-04 15:37:21.327146
"""

from collections.abc import Sequence

revision: str = "0628ca68462c"
down_revision: str | Sequence[str] | None = ("858d3f86259f", "e963cf076d56")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
