"""JSON API: who am I."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from laoke.accounts.roles import Role
from laoke.web.deps import ApiActor, CsrfProtected

router = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[CsrfProtected])


class MePublic(BaseModel):
    user_id: int | None
    org_id: int
    name: str
    role: Role
    language: str


@router.get("/me", response_model=MePublic, summary="The user behind the token or session")
def me(actor: ApiActor) -> MePublic:
    return MePublic(
        user_id=actor.user_id,
        org_id=actor.org_id,
        name=actor.name,
        role=actor.role,
        language=actor.language,
    )
