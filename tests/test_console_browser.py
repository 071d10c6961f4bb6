"""The console in real headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright;
``playwright install`` is never used), against a real uvicorn serving the app on the test
database, and for the live board a real ingest + alerts platform on the real broker.

Screenshots of each role's main page are written to ``artifacts/screenshots/`` (git-ignored):
they are test artifacts, for a person to look at, and no assertion depends on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from anxin import registry, wire
from anxin.platform import Platform
from api.accounts import UserScope, create_user
from api.registry import service
from api.registry.models import ContactIn
from tests.fix_api import PASSWORD
from tests.fix_inspector import add_alarm
from tests.helpers import Publisher, now_ms, running_platform, wait_until
from tests.test_console_fall_alarm import make_fall_alarm, store_window

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
LIVE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: run scripts/setup (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium, live_api):
    """``open_page(username, locale)``: a logged-in page in a browser context of its own
    (its own cookies), closed after the test."""
    contexts = []

    def open_as(username: str, locale: str = "zh-CN", phone: bool = False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = chromium.new_context(
            locale=locale, viewport=size, is_mobile=phone, has_touch=phone, base_url=live_api
        )
        contexts.append(context)
        page = context.new_page()
        page.goto("/console/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("username", "home", "marker"),
    [
        ("duty_a", "/console/board", "#live table.alarm-table"),
        ("family_1", "/console/residents/r-ha-1", ".status-card"),
        ("inspector_xihu", "/console/history", "table.history"),
        ("admin", "/console/admin/sites", "form.grid-form"),
    ],
)
def test_each_role_logs_in_to_its_main_page(world, open_page, username, home, marker):
    page = open_page(username, phone=username.startswith("family"))
    assert page.url.endswith(home)
    page.wait_for_selector(marker)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways"
    _screenshot(page, f"{username.split('_')[0]}-main")
    page.click("a.lang")
    page.wait_for_selector("html[lang=en]")
    assert page.url.endswith(home)
    assert page.locator("header nav, header .me").first.is_visible()


def test_inspector_sees_statistics_with_charts(world, db_url, open_page):
    start = datetime(2026, 10, 5, 2, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for site, ack_s in (("ha", 20), ("ha", 45), ("ha", 95), ("hh", 30), ("hh", 150)):
            add_alarm(
                conn,
                site_id=world.sites[site],
                raised_at=start + timedelta(hours=ack_s),
                ack_after_s=ack_s,
                resolve_after_s=ack_s * 8,
                outcome="real",
            )
    page = open_page("inspector_xihu", locale="en-US")
    page.goto("/console/statistics")
    page.wait_for_selector("figure.chart svg rect")
    assert page.locator(".figure span").first.inner_text() == "11"
    _screenshot(page, "inspector-statistics")


def test_family_cannot_open_another_residents_page(world, open_page):
    page = open_page("family_1", locale="en-US")
    own = page.goto("/console/residents/r-ha-1")
    assert own is not None and own.status == 200
    other = page.goto("/console/residents/r-ha-2")
    assert other is not None and other.status == 404
    assert "Resident r-ha-2" not in page.content()
    board = page.goto("/console/board")
    assert board is not None and board.status == 403


def test_admin_registers_a_device_and_sees_its_password_once(world, open_page):
    page = open_page("admin", locale="en-US")
    page.goto("/console/admin/devices")
    page.fill("form.grid-form input[name=uid]", "b-ha-9")
    page.select_option("form.grid-form select[name=site]", "ha")
    page.fill("form.grid-form input[name=resident]", "r-ha-2")
    page.click("form.grid-form button[type=submit]")
    password = page.locator("#mqtt-password").inner_text()
    assert len(password) >= 16
    _screenshot(page, "admin-device-created")
    page.goto("/console/admin/devices")
    assert "b-ha-9" in page.content() and password not in page.content()


def test_admin_changes_a_contacts_phone_on_the_people_page(world, db_url, open_page):
    with psycopg.connect(db_url) as conn:
        contact = service.create_contact(
            conn=conn, body=ContactIn(site="ha", name="Daughter Li", kind="family", phone="138")
        )
    row = f"#contact-{contact.id}-row"
    page = open_page("admin", locale="en-US")
    page.click("nav >> text=People")
    page.fill(f"{row} input[name=phone]", "13900000009")
    page.uncheck(f"{row} input[name=active]")
    page.click(f"{row} button[type=submit]")
    assert "Saved: Daughter Li" in page.locator(".flash.ok").inner_text()
    _screenshot(page, "admin-people-saved")
    page.goto("/console/admin/people")
    assert page.locator(f"{row} input[name=phone]").input_value() == "13900000009"
    assert not page.locator(f"{row} input[name=active]").is_checked()


@pytest.fixture
def platform(db_url, mqtt_url) -> Iterator[Platform]:
    with running_platform(db_url, mqtt_url) as running:
        yield running


def _new_resident_with_bracelet(db_url: str) -> tuple[int, str]:
    """A resident at site ``ha`` wearing a bracelet with a uid no other test uses (the broker
    is shared, and every alerts worker on it hears every topic)."""
    device = f"brc-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as conn:
        resident = registry.create_resident(
            conn=conn, uid=f"r-{device}", site_uid="ha", name="Live Resident"
        )
        registry.create_device(
            conn=conn, uid=device, site_uid="ha", kind="bracelet", resident_id=resident
        )
        create_user(
            conn=conn,
            username="duty_a2",
            password=PASSWORD,
            role="duty",
            scope=UserScope(sites=["ha"]),
        )
        conn.commit()
    return resident, device


def _sounds(page) -> int:
    """How many alarm tones the board has played (``console.js`` counts them)."""
    return int(page.locator("#live").get_attribute("data-sounds") or 0)


def _sos_alarm(db_url: str, resident: int) -> int | None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT id FROM alarms WHERE kind = 'sos' AND subject_kind = 'resident'
               AND subject_id = %s""",
            (resident,),
        ).fetchone()
    return int(row[0]) if row else None


def test_live_alarm_is_acknowledged_on_one_board_and_seen_on_another(
    world, db_url, mqtt_url, platform, open_page
):
    resident, device = _new_resident_with_bracelet(db_url)
    first = open_page("duty_a")
    second = open_page("duty_a2", locale="en-US")
    errors: list[str] = []
    for page in (first, second):
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.wait_for_selector("#live-status[data-state=live]", timeout=LIVE_TIMEOUT_MS)
    first.click("#sound-toggle")
    assert first.locator("#sound-toggle").get_attribute("aria-pressed") == "true"
    sounds_before = [_sounds(page) for page in (first, second)]

    publisher = Publisher(mqtt_url)
    try:
        sos = wire.Event(seq=1, ts=now_ms(), event="sos")
        publisher.publish(wire.topic("ha", device, "reading"), wire.encode(sos))
    finally:
        publisher.close()
    wait_until(lambda: _sos_alarm(db_url, resident) is not None, what="the SOS alarm")
    alarm_id = _sos_alarm(db_url, resident)
    row = f"#alarm-{alarm_id}"

    for page, before in zip((first, second), sounds_before, strict=True):
        page.wait_for_selector(f"{row}.state-open", timeout=LIVE_TIMEOUT_MS)
        assert _sounds(page) > before
    _screenshot(first, "duty-board-live-alarm")

    first.click(f"{row} [data-action=acknowledge]")
    first.wait_for_selector(f"{row}.state-acknowledged", timeout=LIVE_TIMEOUT_MS)
    second.wait_for_selector(f"{row}.state-acknowledged", timeout=LIVE_TIMEOUT_MS)
    assert "duty_a" in second.locator(row).inner_text()

    second.click(f"{row} [data-action=resolve]")
    second.wait_for_selector("#resolve-dialog[open] input[value=false_alarm]")
    _screenshot(second, "duty-resolve-dialog")
    second.check("#resolve-dialog input[value=false_alarm]")
    second.fill("#resolve-dialog textarea[name=note]", "pressed by mistake while dressing")
    second.click("#resolve-dialog [data-action=confirm-resolve]")
    for page in (second, first):
        page.wait_for_selector(row, state="detached", timeout=LIVE_TIMEOUT_MS)

    with psycopg.connect(db_url, autocommit=True) as conn:
        state = conn.execute(
            "SELECT state::text, acknowledged_by, resolved_by, outcome, note FROM alarms "
            "WHERE id = %s",
            (alarm_id,),
        ).fetchone()
    assert state == (
        "resolved",
        "duty_a",
        "duty_a2",
        "false_alarm",
        "pressed by mistake while dressing",
    )
    assert errors == []


def test_a_fall_alarm_charts_its_window_on_a_phone(world, db_url, open_page):
    with psycopg.connect(db_url, autocommit=True) as conn:
        alarm_id = make_fall_alarm(conn, world)
        store_window(conn, world)
    page = open_page("family_1", phone=True)
    page.goto(f"/console/alarms/{alarm_id}")
    chart = page.locator("figure.fall-chart svg")
    chart.wait_for()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("figure.score-scale svg circle.score").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways"
    _screenshot(page, "family-fall-alarm")
