"""Staff roles and what each may do. One table, read by one gate: `require()`."""

from __future__ import annotations

from enum import StrEnum

from laoke.errors import N_, PermissionDenied


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Administrator"),
    Role.MANAGER: N_("Manager"),
    Role.SALES: N_("Sales"),
    Role.VIEWER: N_("Viewer"),
}


class Permission(StrEnum):
    SEE_ALL_CUSTOMERS = "see_all_customers"
    EDIT_CUSTOMERS = "edit_customers"
    REVEAL_PII = "reveal_pii"
    MERGE_CUSTOMERS = "merge_customers"
    ERASE_CUSTOMERS = "erase_customers"
    EXPORT = "export"
    IMPORT = "import"
    MANAGE_STAFF = "manage_staff"
    MANAGE_SETTINGS = "manage_settings"
    READ_AUDIT_LOG = "read_audit_log"
    USE_API_TOKENS = "use_api_tokens"
    SEND_MESSAGES = "send_messages"
    # Approve or decline flagged referrals, pay out cash rewards, correct the reward ledger.
    REVIEW_REWARDS = "review_rewards"


_EVERYTHING = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING,
    Role.MANAGER: frozenset(
        {
            Permission.SEE_ALL_CUSTOMERS,
            Permission.EDIT_CUSTOMERS,
            Permission.REVEAL_PII,
            Permission.MERGE_CUSTOMERS,
            Permission.ERASE_CUSTOMERS,
            Permission.EXPORT,
            Permission.IMPORT,
            Permission.USE_API_TOKENS,
            Permission.SEND_MESSAGES,
            Permission.REVIEW_REWARDS,
        }
    ),
    # A salesperson works their own customers only; the customer gate enforces that.
    Role.SALES: frozenset(
        {
            Permission.EDIT_CUSTOMERS,
            Permission.REVEAL_PII,
            Permission.IMPORT,
            Permission.USE_API_TOKENS,
        }
    ),
    Role.VIEWER: frozenset({Permission.SEE_ALL_CUSTOMERS, Permission.USE_API_TOKENS}),
}

# Who may grant which role: nobody grants a role above their own.
ROLE_RANK = {Role.OWNER: 5, Role.ADMIN: 4, Role.MANAGER: 3, Role.SALES: 2, Role.VIEWER: 1}


def has(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def require(role: Role, permission: Permission) -> None:
    if not has(role, permission):
        raise PermissionDenied()
