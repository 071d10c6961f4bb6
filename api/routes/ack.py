"""The signed acknowledgement link carried in alarm messages: ``/ack/{token}``.

GET shows what the alarm is and a confirm button; only the POST acknowledges (chat apps and
mail scanners fetch links to build previews, and a fetch must not take an alarm). A link works
once (``alerts.acklink.redeem``); a tampered, expired or used one gets a page saying to use the
console instead.
"""

from __future__ import annotations

import html
import time

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from alerts import acklink
from api.deps import ConnDep, SettingsDep

router = APIRouter(tags=["ack link"])

_STATUS: list[tuple[type[acklink.AckLinkError], int]] = [
    (acklink.AckLinkExpired, 410),
    (acklink.AckLinkUsed, 409),
    (acklink.AckLinkInvalid, 400),
]
_HTML: dict[str, object] = {"content": {"text/html": {}}}
_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "not a valid link", **_HTML},
    404: {"description": "links are not enabled, or the alarm is gone", **_HTML},
    409: {"description": "the link was already used", **_HTML},
    410: {"description": "the link has expired", **_HTML},
}


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A minimal bilingual page that reads on a phone; ``body`` is already escaped."""
    return HTMLResponse(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1.3rem;padding:.8rem 1.6rem}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>""",
        status_code=status,
    )


def _refused(exc: acklink.AckLinkError) -> HTMLResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    return _page(_CANNOT, f"<p>{html.escape(str(exc))}</p>", status=status)


_DISABLED = "<p>Acknowledgement links are not enabled here; use the Anxin console.</p>"
_GONE = "<p>This alarm no longer exists.</p>"
_CANNOT = "无法确认 / Cannot acknowledge"


@router.get("/ack/{token}", response_class=HTMLResponse, responses=_RESPONSES)
def confirm_page(token: str, conn: ConnDep, settings: SettingsDep) -> HTMLResponse:
    """What the alarm is, and a button that acknowledges it (nothing happens on GET)."""
    if not settings.ack_secret:
        return _page(_CANNOT, _DISABLED, status=404)
    try:
        claims = acklink.verify_token(token, secret=settings.ack_secret, now=time.time())
    except acklink.AckLinkError as exc:
        return _refused(exc)
    row = conn.execute(
        """SELECT a.title, a.state::text, s.name, a.raised_at,
                  EXISTS (SELECT 1 FROM ack_links_used WHERE jti = %s)
           FROM alarms a JOIN sites s ON s.id = a.site_id WHERE a.id = %s""",
        (claims.jti, claims.alarm_id),
    ).fetchone()
    if row is None:
        return _page(_CANNOT, _GONE, status=404)
    title, state, site, raised_at, used = row
    if used:
        return _refused(acklink.AckLinkUsed("this acknowledgement link was already used"))
    facts = (
        f"<p><strong>{html.escape(title)}</strong></p>"
        f"<p>{html.escape(site)} · {raised_at:%Y-%m-%d %H:%M:%S %Z} · {html.escape(state)}</p>"
    )
    form = (
        f'<form method="post" action="/ack/{html.escape(token, quote=True)}">'
        "<button type=submit>确认收到 / Acknowledge</button></form>"
    )
    return _page("确认报警 / Acknowledge alarm", facts + form)


@router.post("/ack/{token}", response_class=HTMLResponse, responses=_RESPONSES)
def acknowledge_by_link(token: str, conn: ConnDep, settings: SettingsDep) -> HTMLResponse:
    """Use the link once: the alarm is acknowledged by the person it was sent to."""
    if not settings.ack_secret:
        return _page(_CANNOT, _DISABLED, status=404)
    try:
        with conn.transaction():
            redeemed = acklink.redeem(
                conn=conn, token=token, secret=settings.ack_secret, now=time.time()
            )
    except acklink.AckLinkError as exc:
        return _refused(exc)
    if redeemed.acknowledged:
        return _page(
            "已确认 / Acknowledged",
            "<p>谢谢。升级通知已停止。/ Thank you: escalation has stopped.</p>",
        )
    state = conn.execute(
        "SELECT state::text, coalesce(acknowledged_by, resolved_by, '') FROM alarms WHERE id = %s",
        (redeemed.claims.alarm_id,),
    ).fetchone()
    if state is None:
        return _page(_CANNOT, _GONE, status=404)
    who = f" ({html.escape(state[1])})" if state[1] else ""
    return _page(
        "已有人处理 / Already taken",
        f"<p>Someone else has this alarm already{who}: it is {html.escape(state[0])}.</p>",
    )
