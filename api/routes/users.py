"""User and API-key administration (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from anxin.errors import NotFound
from api import accounts
from api.deps import ConnDep, UserAdminDep
from api.errors import responses
from api.registry.models import Name, Uid
from api.scope import Role

router = APIRouter(prefix="/api/v1", tags=["users"])
_WRITE = responses(401, 403, 404, 409)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password: str = Field(min_length=accounts.MIN_PASSWORD_CHARS, max_length=1024)
    role: Role
    display_name: str = Field("", max_length=200)
    sites: list[Uid] = Field(default_factory=list, description="duty, inspector: site uids")
    residents: list[Uid] = Field(default_factory=list, description="family: resident uids")
    regions: list[Name] = Field(default_factory=list, description="inspector: region paths")


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    sites: list[str]
    residents: list[str]
    regions: list[str]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    expires_at: AwareDatetime | None = None


class ApiKeyIssued(BaseModel):
    id: int
    name: str
    key: str = Field(description="send as X-API-Key; shown this once, only its hash is kept")


@router.get("/users", response_model=list[UserOut], responses=responses(401, 403))
def list_users(admin: UserAdminDep, conn: ConnDep) -> list[UserOut]:
    return [UserOut.model_validate(u, from_attributes=True) for u in accounts.list_users(conn=conn)]


@router.post("/users", response_model=UserOut, status_code=201, responses=_WRITE)
def create_user(body: UserIn, admin: UserAdminDep, conn: ConnDep) -> UserOut:
    """Create a user; the scope must fit the role (duty: sites; family: residents; inspector:
    regions or sites; admin: none)."""
    with conn.transaction():
        user_id = accounts.create_user(
            conn=conn,
            username=body.username,
            password=body.password,
            role=body.role,
            display_name=body.display_name,
            scope=accounts.UserScope(
                sites=body.sites, residents=body.residents, regions=body.regions
            ),
        )
    user = accounts.get_user(conn=conn, user_id=user_id)
    assert user is not None
    return UserOut.model_validate(user, from_attributes=True)


@router.post(
    "/users/{user_id}/api-keys",
    response_model=ApiKeyIssued,
    status_code=201,
    responses=_WRITE,
)
def create_api_key(
    user_id: int, body: ApiKeyIn, admin: UserAdminDep, conn: ConnDep
) -> ApiKeyIssued:
    """An API key that acts as the user (same role and scope)."""
    if accounts.get_user(conn=conn, user_id=user_id) is None:
        raise NotFound(f"no user with id {user_id}; list them with GET /api/v1/users")
    with conn.transaction():
        key_id, key = accounts.create_api_key(
            conn=conn, user_id=user_id, name=body.name, expires_at=body.expires_at
        )
    return ApiKeyIssued(id=key_id, name=body.name, key=key)


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response, responses=_WRITE)
def revoke_api_key(key_id: int, admin: UserAdminDep, conn: ConnDep) -> Response:
    accounts.revoke_api_key(conn=conn, key_id=key_id)
    return Response(status_code=204)
