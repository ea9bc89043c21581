"""Who is acting: the plain value every service receives instead of an ORM user."""

from __future__ import annotations

from dataclasses import dataclass

from laoke.accounts.roles import Permission, Role, has, require


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    org_id: int
    role: Role
    name: str = ""
    language: str = "zh_CN"
    ip: str | None = None
    via_token: bool = False

    def can(self, permission: Permission) -> bool:
        return has(self.role, permission)

    def require(self, permission: Permission) -> None:
        require(self.role, permission)

    @classmethod
    def system(cls, org_id: int) -> Actor:
        """The product itself (imports run by the CLI, scheduled jobs)."""
        return cls(user_id=None, org_id=org_id, role=Role.OWNER, name="system")
