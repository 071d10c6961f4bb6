"""``anxin api`` (serve) and ``anxin users`` (accounts and API keys)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from anxin.settings import Settings

console = Console(stderr=True)
users_app = typer.Typer(help="API users (admin, duty, family, inspector) and API keys.")


def serve(settings: Settings) -> None:
    """Wait for the database, migrate, then serve until SIGTERM/SIGINT."""
    import uvicorn

    from anxin.db import wait_for_database, with_database
    from anxin.migrate import migrate, storage_options
    from api.app import create_app
    from api.security import check_secret

    try:
        check_secret(settings.api_secret)
    except ValueError as exc:
        console.print(f"[red]configuration error[/]: {exc}")
        raise typer.Exit(2) from None
    wait_for_database(with_database(settings.database_url, "postgres"))
    migrate(settings.database_url, storage_options(settings))
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


def _settings() -> Settings:
    from anxin.cli import load_settings

    return load_settings()


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | duty | family | inspector")],
    site: Annotated[list[str] | None, typer.Option(help="site uid a duty user works at")] = None,
    resident: Annotated[
        list[str] | None, typer.Option(help="resident uid a family user follows")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="region path an inspector oversees, e.g. Xihu")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ANXIN_NEW_USER_PASSWORD",
            help="asked for when not given; scripts set ANXIN_NEW_USER_PASSWORD",
        ),
    ] = "",
) -> None:
    """Create a user with a role and its scope (repeat --site/--resident/--region)."""
    from anxin.db import connect
    from api.accounts import UserScope, create_user

    settings = _settings()
    scope = UserScope(sites=site or (), residents=resident or (), regions=region or ())
    with connect(settings.database_url) as conn:
        user_id = create_user(
            conn=conn,
            username=username,
            password=password,
            role=role,
            display_name=name,
            scope=scope,
        )
        conn.commit()
    console.print(f"user {username} ({role}) created with id {user_id}")


@users_app.command("list")
def users_list() -> None:
    """List users with their role and scope."""
    from anxin.db import connect
    from api.accounts import list_users

    settings = _settings()
    with connect(settings.database_url) as conn:
        users = list_users(conn=conn)
    table = Table("id", "username", "name", "role", "active", "scope")
    for u in users:
        scope = ", ".join([*u.sites, *u.residents, *(f"region {r}" for r in u.regions)])
        table.add_row(str(u.id), u.username, u.display_name, u.role, str(u.active), scope)
    Console().print(table)


@users_app.command("key")
def users_key(
    username: str,
    name: Annotated[str, typer.Option(help="what the key is for, e.g. 'hospital-bridge'")],
) -> None:
    """Issue an API key acting as USERNAME (printed once; send it as X-API-Key)."""
    from anxin.db import connect
    from anxin.errors import NotFound
    from api.accounts import create_api_key, user_id_by_name

    settings = _settings()
    with connect(settings.database_url) as conn:
        user_id = user_id_by_name(conn=conn, username=username)
        if user_id is None:
            raise NotFound(f"no user {username!r}; create it with 'anxin users add'")
        _, key = create_api_key(conn=conn, user_id=user_id, name=name)
        conn.commit()
    console.print(f"API key {name!r} for {username} issued; it is shown once:")
    typer.echo(key)
