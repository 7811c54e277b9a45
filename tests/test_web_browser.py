"""The auditor's page in a real browser: Debian's headless Chromium, driven by
Playwright, against a live `registry serve` holding the examples and a defective
copy of triple-play (nobody accountable for an outage in the south).

JavaScript is off in the browser: the page must work without it. Screenshots go
to tests/artifacts/. Playwright never downloads a browser here: it is pointed at
/usr/bin/chromium (`apt-get install chromium`); without it the suite fails under
CI=true and is skipped locally.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.serve import examples_dir
from registry.store import Store
from tests.conftest import MINIMAL, TRIAL_CONTRACT, seed, write_files

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
EXAMPLES = ["co-branded-card", "condominium", "franchise", "roaming", "triple-play"]
# The seed alliances: the examples, and metro-home of the contracts repository
# examples/gitops (3 top-level categories and 2 contracts: smaller than the others).
SEEDED = sorted([*EXAMPLES, "metro-home"])
SMALLER = {"metro-home": (3, 2)}  # top-level rows, timeline bars at least
BROKEN = "broken-play"
AS_OF = "2026-11-22"

pytestmark = pytest.mark.slow


def _playwright() -> Any:
    """The sync Playwright API, or a failure (CI) / skip (locally) saying what is missing."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        missing = "the playwright package (pip install -e '.[dev]')"
    if missing is None and not CHROMIUM.exists():
        missing = f"{CHROMIUM} (apt-get install chromium)"
    if missing is not None:
        message = f"the browser tests need {missing}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


@dataclass
class Live:
    base: str
    tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _broken_copy(folder: Path) -> Path:
    """triple-play renamed broken-play, FastNet no longer accountable for an outage
    in the south: a gap of 4 cells (one per channel) at row outage, column south, and
    triple-play's promise that outages in the south are FastNet's broken."""
    shutil.copytree(examples_dir() / "triple-play", folder)
    for path in folder.glob("*.yaml"):
        text = path.read_text(encoding="utf-8").replace("triple-play", BROKEN)
        path.write_text(text, encoding="utf-8")
    contracts = folder / "contracts.yaml"
    text = contracts.read_text(encoding="utf-8")
    carve_out = "      except: [{category: [wifi-router], channel: [store]}]\n"
    assert text.count(carve_out) == 1
    text = text.replace(
        carve_out,
        "      except: [{category: [wifi-router], channel: [store]},"
        " {category: [outage], region: [south]}]\n",
    )
    contracts.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _playwright()
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder}/registry.db"
    store = Store(url)
    try:
        seed(store, [examples_dir(), _broken_copy(folder / BROKEN)])
        tokens = {
            "admin": store.create_token("admin", None, None, "browser admin")[1],
            "auditor": store.create_token("auditor", BROKEN, None, "browser auditor")[1],
            "partner": store.create_token("partner", "triple-play", "fastnet", "browser p")[1],
        }
    finally:
        store.close()
    port = _free_port()
    log = (folder / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    command = [sys.executable, "-m", "registry", "serve", "--database-url", url,
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, base, folder / "server.log")
        yield Live(base, tokens)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Poll /health; between polls wait on the process, which returns at once if it
    has exited (no fixed sleep)."""
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{base}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            break
    raise RuntimeError(f"the server did not start:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with _playwright()() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # No JavaScript: folding, forms and links must work without it.
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(20_000)
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, live: Live, token: str) -> None:
    page.goto(f"{live.base}/ui/")
    page.fill("#token", token)
    page.click("form[action='/ui/login'] button")


def cell(page: Any, row: str, column: str) -> Any:
    return page.locator(f".mx .mcell[data-row='{row}'][data-col='{column}']")


# -- the tests -----------------------------------------------------------------------------


def test_sign_in_refusals_and_sign_out(page: Any, live: Live) -> None:
    sign_in(page, live, "ar_not-a-token")
    assert "That token is not valid" in page.inner_text("[role=alert]")
    sign_in(page, live, live.tokens["partner"])
    assert page.inner_text("h1") == "403 · Refused"
    assert "this is a partner token" in page.inner_text("[role=alert]")
    shot(page, "ui-refused-partner")
    sign_in(page, live, live.tokens["admin"])
    assert page.url == f"{live.base}/ui/"
    listed = page.locator("ul.alliances a").all_inner_texts()
    assert listed == sorted([*SEEDED, BROKEN])
    shot(page, "ui-alliances")
    page.click("form.signout button")
    assert page.locator("#token").is_visible()
    cookies = page.context.cookies()
    assert not [c for c in cookies if c["name"] == "registry_token" and c["value"]]


def test_the_cookie_is_httponly_and_strict(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["auditor"])
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "registry_token"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    # The auditor of broken-play sees it alone; another alliance is not found.
    assert page.locator("ul.alliances a").all_inner_texts() == [BROKEN]
    response = page.goto(f"{live.base}/ui/alliances/triple-play")
    assert response.status == 404
    assert "no alliance 'triple-play'" in page.inner_text("[role=alert]")


@pytest.mark.parametrize("alliance", SEEDED)
def test_each_example_alliance(page: Any, live: Live, alliance: str) -> None:
    sign_in(page, live, live.tokens["admin"])
    page.click(f"ul.alliances a:text-is('{alliance}')")
    page.goto(f"{live.base}/ui/alliances/{alliance}?asOf={AS_OF}")
    assert page.locator("h1 small").inner_text() == alliance
    stats = dict(
        zip(
            page.locator(".stats dt").all_inner_texts(),
            page.locator(".stats dd").all_inner_texts(),
            strict=True,
        )
    )
    assert stats["ERRORS"] == "0"  # CSS upper-cases the labels
    assert stats["AS OF"] == AS_OF
    # Every top-level row is on screen and folded; every cell names who is accountable.
    tops = page.locator(".mx > details.node > summary .mname, .mx > div.mrow.leaf .mname")
    least_rows, least_bars = SMALLER.get(alliance, (4, 3))
    assert tops.count() >= least_rows
    assert page.locator(".mx details.node[open]").count() == 0
    visible = page.locator(".mx .mcell:visible")
    states = set(visible.evaluate_all("cells => cells.map(c => c.dataset.state)"))
    assert states <= {"owned", "mixed", "gap", "overlap"}
    assert "gap" not in states or alliance in ("condominium",)  # its gaps are waived
    assert page.locator("svg.tl g.bar").count() >= least_bars
    assert page.locator("table.log tr[data-revision='1']").count() == 1
    shot(page, f"ui-{alliance}")


def test_the_planted_gap_is_in_its_row_and_column(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["auditor"])
    page.goto(f"{live.base}/ui/alliances/{BROKEN}?asOf={AS_OF}")
    # The gap, and the story's promise it breaks (outages in the south are FastNet's).
    assert page.locator(".stats div:has(dt:text-is('errors')) dd").inner_text() == "2"
    promise = page.locator("details.rule[data-rule='expectation-failed'] li")
    assert promise.count() == 1
    assert (
        "promise 'fastnet-owns-internet-faults' (category=outage, region=south, channel=phone "
        "on 2026-11-22) is broken: status: expected owned, got unowned; owner: expected "
        "fastnet, got none (unowned); handoff.endpoint: expected tickets, got no handoff"
    ) in promise.inner_text()
    # Folded: the top row shows a gap inside a mixed cell of the south column only.
    south = cell(page, "connectivity", "south")
    assert south.get_attribute("data-state") == "mixed"
    assert "✗ gap" in south.inner_text()
    assert "has-gap" in south.get_attribute("class")
    for region in ("north", "east", "west"):
        assert "gap" not in cell(page, "connectivity", region).inner_text()
    assert not cell(page, "outage", "south").is_visible()
    # Unfold connectivity, then internet: the outage row's south cell is the gap.
    page.click("details[data-node='connectivity'] > summary .mname")
    page.click("details[data-node='internet'] > summary .mname")
    gap = cell(page, "outage", "south")
    assert gap.is_visible()
    assert gap.get_attribute("data-state") == "gap"
    assert gap.inner_text().strip() == "✗ gap"
    assert gap.get_attribute("title") == "outage × south: gap: 4 cells"  # noqa: RUF001
    for region in ("north", "east", "west"):
        owned = cell(page, "outage", region)
        assert owned.get_attribute("data-state") == "owned"
        assert owned.inner_text().strip() == "fastnet"
    assert cell(page, "slow-speed", "south").inner_text().strip() == "fastnet"
    # Its finding, grouped under its rule, in the alliance's own names.
    finding = page.locator("details.rule[data-rule='coverage-gap'] li")
    assert finding.count() == 1
    assert "no partner is accountable for 4 cells" in finding.inner_text()
    assert re.search(r"where:\s+category outage · region south", finding.inner_text())
    shot(page, "ui-broken-play-gap")
    # By channel, the same gap is a quarter of each outage cell.
    page.select_option("select[name=cols]", "channel")
    page.click("form.controls button")
    assert page.locator(".mhead .mcol").all_inner_texts() == ["phone", "web", "store", "app"]
    page.click("details[data-node='connectivity'] > summary .mname")
    page.click("details[data-node='internet'] > summary .mname")
    by_channel = cell(page, "outage", "web")
    assert by_channel.get_attribute("data-state") == "mixed"
    assert by_channel.get_attribute("title") == "outage × web: fastnet: 3 cells; gap: 1 cell"  # noqa: RUF001
    shot(page, "ui-broken-play-by-channel")
    # From the finding straight to its row: the way down is unfolded by the server.
    page.goto(f"{live.base}/ui/alliances/{BROKEN}?asOf={AS_OF}")
    assert not cell(page, "outage", "south").is_visible()
    finding.locator("a.locate").click()
    assert page.url.endswith("expand=internet#row-outage")
    assert cell(page, "outage", "south").is_visible()


def test_collapse_and_expand(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    page.goto(f"{live.base}/ui/alliances/triple-play?asOf={AS_OF}")
    refund = cell(page, "refund", "north")
    assert not refund.is_visible()
    page.click("details[data-node='billing'] > summary .mname")
    assert refund.is_visible()
    assert refund.inner_text().strip() == "metro"
    page.click("details[data-node='billing'] > summary .mname")
    assert not refund.is_visible()
    # Unfolded by the server: the node asked for and every node above it.
    page.goto(f"{live.base}/ui/alliances/triple-play?asOf={AS_OF}&expand=internet")
    assert cell(page, "wifi-router", "north").is_visible()
    assert not cell(page, "no-signal", "north").is_visible()  # tv stays folded
    opened = page.locator(".mx details.node[open]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.node)"
    )
    assert opened == ["connectivity", "internet"]
    # The day and the columns keep what is unfolded.
    page.fill("input[name=asOf]", "2027-06-01")
    page.click("form.controls button")
    assert "expand=internet" in page.url
    assert cell(page, "wifi-router", "north").is_visible()
    page.click("a:text('collapse all')")
    assert not cell(page, "wifi-router", "north").is_visible()


def test_timeline_shows_contracts_and_future_gaps(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    # FastNet's internet and FieldForce's installation contracts end on 2028-01-01.
    page.goto(f"{live.base}/ui/alliances/triple-play?asOf=2027-11-01")
    lanes = page.locator("svg.tl text.lanelabel").all_text_contents()  # SVG: no innerText
    assert lanes == ["callwave", "fastnet", "fieldforce", "metro", "skyview"]
    marker = page.locator("svg.tl g.marker[data-date='2028-01-01']")
    assert marker.count() == 1
    assert "✗" in (marker.text_content() or "")
    future = page.locator("ul.future li").all_inner_texts()
    assert future and all("2028-01-01" in item for item in future)
    assert any("future-gap" in item and "(fieldforce)" in item for item in future)
    rows = page.locator("details.contracts tbody tr").all_inner_texts()
    assert any(r.split("\t")[:4] == ["fastnet", "fastnet-internet", "2025-01-01", "2028-01-01"]
               for r in rows)  # fmt: skip
    assert any(r.split("\t")[:4] == ["metro", "metro-care", "2025-01-01", "open"] for r in rows)
    assert page.locator("svg.tl text.open.end").count() >= 3  # open ends drawn as ▶
    page.locator("section.timeline").screenshot(path=str(ARTIFACTS / "ui-timeline.png"))


def test_change_log_follows_writes(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    page.goto(f"{live.base}/ui/alliances/condominium")
    assert page.locator("table.log tbody tr").count() == 1
    first = page.locator("table.log tbody tr").first.inner_text()
    assert "demo seed" in first and "apply" in first
    # A write through the API; the page shows it on the next request.
    alliance = (examples_dir() / "condominium" / "alliance.yaml").read_text(encoding="utf-8")
    changed = alliance.replace("title: Riverside Towers residents' services}", "title: Towers}")
    assert changed != alliance
    response = httpx.post(
        f"{live.base}/v1/alliances/condominium/apply",
        headers={"Authorization": f"Bearer {live.tokens['admin']}",
                 "Content-Type": "application/yaml"},
        content=changed,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    page.reload()
    assert page.locator("h1").inner_text().startswith("Towers")
    rows = page.locator("table.log tbody tr")
    assert rows.count() == 2
    newest = rows.first.inner_text()
    assert newest.startswith("2\t")
    assert "browser admin (admin)" in newest
    assert "Alliance/condominium changed" in newest
    shot(page, "ui-change-log")


def test_offline_report_in_the_browser(page: Any, tmp_path: Path) -> None:
    """`registry audit --format html`: one file, opened from disk, no server; the
    column tabs and the folding work without script."""
    report = tmp_path / "report.html"
    broken = _broken_copy(tmp_path / BROKEN)
    done = subprocess.run(
        [sys.executable, "-m", "registry", "audit", str(examples_dir()), str(broken),
         "--as-of", AS_OF, "--format", "html"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # broken-play has an error finding
    report.write_text(done.stdout, encoding="utf-8")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())
    assert requests == [report.as_uri()]  # nothing else fetched: CSS inline, no script
    article = page.locator(f"article#{BROKEN}")
    by_region = article.locator(".panel").nth(0)
    by_channel = article.locator(".panel").nth(1)
    assert by_region.is_visible() and not by_channel.is_visible()
    article.locator("details[data-node='connectivity'] > summary .mname").first.click()
    article.locator("details[data-node='internet'] > summary .mname").first.click()
    gap = by_region.locator(".mcell[data-row='outage'][data-col='south']")
    assert gap.is_visible() and gap.get_attribute("data-state") == "gap"
    article.locator(f"label[for='{BROKEN}-cols-channel']").click()
    assert by_channel.is_visible() and not by_region.is_visible()
    article.screenshot(path=str(ARTIFACTS / "report-broken-play.png"))


def test_a_dimension_the_matrix_adds_up_can_be_fixed(page: Any, live: Live) -> None:
    """A router complaint is Metro's in a store and FastNet's elsewhere: by region
    the cell is mixed, whatever row is opened; fixing the channel shows each part."""
    sign_in(page, live, live.tokens["admin"])
    page.goto(f"{live.base}/ui/alliances/triple-play?asOf={AS_OF}&expand=internet")
    router = cell(page, "wifi-router", "north")
    assert router.get_attribute("data-state") == "mixed"
    assert "pick one channel above" in page.inner_text(".legend")
    page.select_option("select[name=channel]", "store")
    page.click("form.controls button")
    assert "channel=store" in page.url and "expand=internet" in page.url
    assert page.locator("h2 .fixed").inner_text() == ", channel store"
    for region in ("north", "south", "east", "west"):
        assert cell(page, "wifi-router", region).get_attribute("data-owner") == "metro"
    assert cell(page, "outage", "north").get_attribute("data-owner") == "fastnet"
    shot(page, "ui-triple-play-channel-store")
    # The page's links keep it: unfolding another subtree stays on the store channel.
    page.click("details[data-node='tv'] > summary .mname")
    page.select_option("select[name=channel]", "web")
    page.click("form.controls button")
    assert cell(page, "wifi-router", "north").get_attribute("data-owner") == "fastnet"
    page.click("h2 a:text('every channel')")
    assert "channel=" not in page.url
    assert cell(page, "wifi-router", "north").get_attribute("data-state") == "mixed"


# -- layout, wording and navigation -----------------------------------------------------


def not_cut(page: Any, selector: str) -> list[str]:
    """The texts of the visible elements whose content is wider than their box (cut)."""
    cut: list[str] = page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.textContent.trim())"
    )
    return cut


def test_the_matrix_fills_the_width_and_cuts_no_name(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    # Two columns: they share the whole width instead of leaving most of it empty.
    page.goto(f"{live.base}/ui/alliances/co-branded-card?asOf={AS_OF}")
    matrix = page.locator(".mx").bounding_box()
    last = page.locator(".mx .mhead .mcol").last.bounding_box()
    assert last["x"] + last["width"] >= matrix["x"] + matrix["width"] - 4
    first_cell = cell(page, "rewards", "domestic").bounding_box()
    assert first_cell["x"] + first_cell["width"] <= last["x"] + 4  # the columns line up
    # Partner names wrap in their cell, never cut (no "bella-b…").
    page.goto(f"{live.base}/ui/alliances/franchise?asOf={AS_OF}")
    assert not_cut(page, ".mx .mcell, .mx .mname, .mx .mcol") == []
    digital = cell(page, "digital", "leeds").inner_text()
    assert "bella-brand" in digital and "‼ overlap, waived" in digital
    # In northern stores the brand and the franchisee both own app crashes.
    page.goto(f"{live.base}/ui/alliances/franchise?asOf={AS_OF}&channel=in-store&expand=digital")
    overlap = cell(page, "app-crash", "leeds")
    assert overlap.get_attribute("data-state") == "overlap"
    assert overlap.inner_text().split("\n") == [
        "‼ overlap, waived",
        "bella-brand + northern-slices",
    ]
    assert not_cut(page, ".mx .mcell") == []
    shot(page, "ui-franchise-wraps")


def test_the_page_fits_a_phone(browser: Any, live: Live) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 420, "height": 800})
    context.set_default_timeout(20_000)
    phone = context.new_page()
    try:
        sign_in(phone, live, live.tokens["admin"])
        for path in ("/ui/", f"/ui/alliances/franchise?asOf={AS_OF}",
                     f"/ui/alliances/triple-play?asOf={AS_OF}&expand=internet"):  # fmt: skip
            phone.goto(live.base + path)
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 420, (path, width)
        # What is wider scrolls in its own box: the matrix does, sideways.
        scrolls = phone.locator(".mx").evaluate("m => m.scrollWidth > m.clientWidth")
        assert scrolls is True
        assert not_cut(phone, ".mx .mcell, .mx .mname") == []
        phone.screenshot(path=str(ARTIFACTS / "ui-triple-play-420.png"), full_page=True)
    finally:
        context.close()


def test_a_waived_gap_is_not_read_as_a_partners(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    page.goto(f"{live.base}/ui/alliances/roaming?asOf={AS_OF}")
    mexico = cell(page, "network", "mexico")
    assert mexico.get_attribute("data-state") == "mixed"
    # The partner on its line, the cell's waived gap on another, said "gap, waived".
    assert mexico.locator(".who").inner_text().strip() == "starlink-americas"
    assert mexico.locator(".faults").inner_text().strip() == "✗ gap, waived"
    assert mexico.inner_text().split("\n") == ["◐ mixed", "starlink-americas", "✗ gap, waived"]
    mexico.screenshot(path=str(ARTIFACTS / "ui-roaming-waived-gap.png"))


def test_show_in_the_matrix_keeps_the_column_headers_on_screen(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    # FastNet and FieldForce leave on 2028-01-01: future gaps, each with its link; and
    # the legal-disputes waiver expires on 2027-12-31 (waiver-expiring), with its own.
    page.goto(f"{live.base}/ui/alliances/triple-play?asOf=2027-12-01")
    links = page.locator("a.locate")
    assert links.count() == 4
    for n in range(4):
        page.goto(f"{live.base}/ui/alliances/triple-play?asOf=2027-12-01")
        href = links.nth(n).get_attribute("href")
        links.nth(n).click()
        row = href.rpartition("#")[2]
        header = page.locator(".mx .mhead").bounding_box()
        target = page.locator(f"#{row}").bounding_box()
        # On screen (give or take the matrix's border), and the row below it.
        assert -2 <= header["y"] < header["y"] + header["height"] <= target["y"] + 1, href
        assert target["y"] + target["height"] <= 900, href  # the row is on screen too
    page.screenshot(path=str(ARTIFACTS / "ui-show-in-the-matrix.png"))


def test_the_alliance_list_shows_titles_and_counts(page: Any, live: Live) -> None:
    sign_in(page, live, live.tokens["admin"])
    item = page.locator("ul.alliances li[data-alliance='co-branded-card']")
    assert item.locator(".title").inner_text() == "ShopCo Rewards card"
    assert re.fullmatch(r"\d+ errors?, \d+ warnings?", item.locator(".counts").inner_text())
    broken = page.locator(f"ul.alliances li[data-alliance='{BROKEN}']")
    assert broken.locator(".title").inner_text() == "Metro Home triple play"
    assert re.match(r"[1-9]\d* errors?,", broken.locator(".counts").inner_text())  # the gap
    assert broken.locator(".counts .bad").count() == 1
    shot(page, "ui-alliance-list")


def test_short_contracts_are_labelled(page: Any, tmp_path: Path) -> None:
    """A one-month trial is a sliver on a five-year timeline: its name goes beside it,
    clear of every other bar."""
    folder = write_files(tmp_path / "metro-home", MINIMAL)
    (folder / "trial.yaml").write_text(TRIAL_CONTRACT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "registry", "audit", str(folder), "--as-of", AS_OF,
         "--format", "html"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report = tmp_path / "report.html"
    report.write_text(done.stdout, encoding="utf-8")
    page.goto(report.as_uri())
    bars = page.locator("svg.tl g.bar")
    assert bars.count() == 3
    boxes = []
    for n in range(bars.count()):
        bar = bars.nth(n)
        label = bar.locator("text.barlabel")
        assert label.count() == 1 and (label.text_content() or "").strip(), n
        boxes.append((bar.locator("rect").bounding_box(), label.bounding_box()))
    assert any(label.text_content() == "fastnet-internet-trial"
               for label in page.locator("svg.tl text.barlabel").all())  # fmt: skip
    for i, (_, label) in enumerate(boxes):
        for j, (rect, _) in enumerate(boxes):
            if i != j:
                assert not _overlap(label, rect), (i, j)
    page.locator("section.timeline").screenshot(path=str(ARTIFACTS / "report-short-contract.png"))


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])  # fmt: skip
