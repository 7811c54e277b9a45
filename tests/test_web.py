"""The auditor's page (/ui/) in process: signing in and out, the cookie, role
refusals, 404 for other alliances, the exact cells of the coverage matrix, the
timeline and the change log; and the same page offline (`--format html`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ALLIANCE, CONTRACTS, MINIMAL, TRIAL_CONTRACT, WriteAlliance, write_files
from litestar import Litestar
from litestar.testing import TestClient

from registry.cli import main
from registry.load import load
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.server import create_app
from registry.service.writes import Request, write
from registry.settings import Settings
from registry.store import Store
from registry.views import matrix, pages
from registry.views.pages import alliance_page, colors
from registry.views.templating import environment
from registry.web.controller import COOKIE, Links
from tests.apitools import heard
from tests.conftest import seed

# metro-home with a hole: nobody is accountable for an outage in the south.
GAP_CONTRACTS = CONTRACTS.replace(
    "    - where: {category: [internet]}\n  handoffs",
    "    - where: {category: [internet]}\n"
    "      except: [{category: [outage], region: [south]}]\n  handoffs",
)
AS_OF = "2026-11-22"


class Cells(HTMLParser):
    """The matrix cells of a page: (row, column) -> (state, owner, classes, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str | None, str, str]] = {}
        self.open_nodes: list[str] = []
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-row" in a and "data-state" in a:
            key = (a["data-row"] or "", a["data-col"] or "")
            self.cells[key] = (
                a["data-state"] or "",
                a.get("data-owner"),
                a.get("class") or "",
                a.get("title") or "",
            )
        if "data-node" in a:
            self.nodes.append(a["data-node"] or "")
            if tag == "details" and "open" in a:
                self.open_nodes.append(a["data-node"] or "")


def cells_of(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    return parser


@pytest.fixture
def web(
    store: Store, tmp_path: Path, write_alliance: WriteAlliance, database_url: str
) -> Iterator[tuple[TestClient[Litestar], Store, dict[str, str]]]:
    """A registry holding metro-home (with the planted gap) and other-home, a token
    per role of metro-home, and a client of the app."""
    gap = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": GAP_CONTRACTS})
    other = write_files(
        tmp_path / "other-home",
        {name: text.replace("metro-home", "other-home") for name, text in MINIMAL.items()},
    )
    seed(store, [gap, other])
    tokens = {
        role: store.create_token(role, alliance, partner, f"web {role}")[1]  # type: ignore[arg-type]
        for role, alliance, partner in [
            ("admin", None, None),
            ("manager", "metro-home", None),
            ("auditor", "metro-home", None),
            ("resolver", "metro-home", None),
            ("partner", "metro-home", "fastnet"),
        ]
    }
    app = create_app(Settings(database_url=database_url), store)
    with TestClient(app) as client:
        yield client, store, tokens


def sign_in(client: TestClient[Litestar], token: str) -> None:
    response = client.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui/"


# -- signing in and out ------------------------------------------------------------------


def test_without_a_cookie_the_page_asks_for_a_token(web: tuple) -> None:
    client, _, _ = web
    response = client.get("/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/ui/login">' in response.text
    assert 'name="token" type="password"' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    # Straight to an alliance without signing in: back to the form, 401.
    response = client.get("/ui/alliances/metro-home")
    assert response.status_code == 401
    assert "Sign in with a token" in response.text


def test_signing_in_sets_an_httponly_strict_cookie_for_the_page_only(web: tuple) -> None:
    client, _, tokens = web
    response = client.post("/ui/login", data={"token": tokens["auditor"]}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={tokens['auditor']};")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http here; set under https
    home = client.get("/ui/")
    assert home.status_code == 200
    assert '<a href="/ui/alliances/metro-home">metro-home</a>' in home.text
    assert "other-home" not in home.text  # the auditor's token sees its alliance only
    assert "web auditor (auditor)" in home.text
    assert client.get("/ui/alliances/metro-home").status_code == 200
    # The cookie opens the page, not the API: the API wants the bearer header.
    assert client.get("/v1/alliances").status_code == 401


def test_signing_out_forgets_the_token(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    response = client.post("/ui/logout", follow_redirects=False)
    assert response.status_code == 303
    assert f'{COOKIE}=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"] or "expires" in (
        response.headers["set-cookie"].lower()
    )
    client.cookies.clear()  # as the browser does on Max-Age=0
    assert 'action="/ui/login"' in client.get("/ui/").text


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://elsewhere.example"}, "Origin: https://elsewhere.example"),
        ({"Origin": "null"}, "Origin: null"),
        ({"Origin": "http://testserver.local:8080"}, "Origin: http://testserver.local:8080"),
        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site: cross-site"),
        (
            {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver.local"},
            "Sec-Fetch-Site: cross-site",
        ),
        ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site: same-site"),
    ],
)
def test_a_form_posted_from_another_site_is_refused(
    web: tuple, headers: dict[str, str], why: str
) -> None:
    """Login CSRF: a page elsewhere must not sign the reader in with its own token
    (nor out)."""
    client, _, tokens = web
    for path in ("/ui/login", "/ui/logout"):
        response = client.post(
            path, data={"token": tokens["auditor"]}, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
        assert f"This form was sent from a page of another site ({why}" in response.text.replace(
            "&#39;", "'"
        )
    assert 'action="/ui/login"' in client.get("/ui/").text  # not signed in


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts: no browser, no page to steer it
        {"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"},
        # Chromium under a no-referrer policy: the browser's word decides
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://TestServer.local:80"},
        {"Sec-Fetch-Site": "none"},
    ],
)
def test_a_form_posted_from_the_page_itself_signs_in(web: tuple, headers: dict[str, str]) -> None:
    client, _, tokens = web
    response = client.post(
        "/ui/login", data={"token": tokens["auditor"]}, headers=headers, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/ui/")
    assert client.get("/ui/alliances/metro-home").status_code == 200


@pytest.mark.parametrize("token", ["", "ar_not-a-token", "Bearer x"])
def test_a_bad_token_is_refused_without_a_cookie(web: tuple, token: str) -> None:
    client, _, _ = web
    response = client.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == (400 if not token else 401)
    assert (
        "set-cookie" not in response.headers
        or 'registry_token=""' in (response.headers["set-cookie"])
    )
    assert 'action="/ui/login"' in response.text


@pytest.mark.parametrize("role", ["partner", "resolver"])
def test_partner_and_resolver_tokens_get_a_clear_refusal(web: tuple, role: str) -> None:
    client, _, tokens = web
    response = client.post("/ui/login", data={"token": tokens[role]}, follow_redirects=False)
    assert response.status_code == 403
    assert f"this is a {role} token" in response.text
    assert "auditor, manager and admin tokens" in response.text
    assert tokens[role] not in response.headers.get("set-cookie", "")
    # A cookie holding such a token (set by hand) is refused the same way.
    client.cookies.set(COOKIE, tokens[role], path="/ui")
    for path in ("/ui/", "/ui/alliances/metro-home"):
        refused = client.get(path)
        assert refused.status_code == 403
        assert f"this is a {role} token" in refused.text


@pytest.mark.parametrize("role", ["auditor", "manager", "admin"])
def test_auditor_manager_and_admin_open_the_page(web: tuple, role: str) -> None:
    client, _, tokens = web
    sign_in(client, tokens[role])
    page = client.get(f"/ui/alliances/metro-home?asOf={AS_OF}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"].startswith(
        "default-src 'none'; style-src 'self'"
    )
    assert "<h2>Coverage on 2026-11-22" in page.text


def test_another_alliance_is_not_found_as_in_the_api(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    for name in ("other-home", "no-such-alliance"):
        response = client.get(f"/ui/alliances/{name}")
        assert response.status_code == 404
        assert f"no alliance &#39;{name}&#39;" in response.text
    sign_in(client, tokens["admin"])
    assert client.get("/ui/alliances/other-home").status_code == 200
    home = client.get("/ui/").text
    assert "/ui/alliances/metro-home" in home and "/ui/alliances/other-home" in home


def test_a_revoked_token_is_sent_back_to_sign_in(web: tuple) -> None:
    client, store, _ = web
    token_id, secret = store.create_token("auditor", "metro-home", None, "short-lived")
    sign_in(client, secret)
    assert client.get("/ui/alliances/metro-home").status_code == 200
    store.revoke_token(token_id)
    heard(client, store)
    response = client.get("/ui/alliances/metro-home")
    assert response.status_code == 401
    assert "no longer valid" in response.text
    assert f'{COOKIE}=""' in response.headers["set-cookie"]


# -- what the page shows -------------------------------------------------------------------


def test_matrix_cells_of_a_small_alliance_exactly(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    page = cells_of(client.get(f"/ui/alliances/metro-home?asOf={AS_OF}").text)
    states = {key: (state, owner) for key, (state, owner, _, _) in page.cells.items()}
    assert states == {
        ("billing", "north"): ("owned", "metro"),
        ("billing", "south"): ("owned", "metro"),
        ("invoice-error", "north"): ("owned", "metro"),
        ("invoice-error", "south"): ("owned", "metro"),
        ("refund", "north"): ("owned", "metro"),
        ("refund", "south"): ("owned", "metro"),
        ("connectivity", "north"): ("owned", "fastnet"),
        ("connectivity", "south"): ("mixed", None),
        ("internet", "north"): ("owned", "fastnet"),
        ("internet", "south"): ("mixed", None),
        ("outage", "north"): ("owned", "fastnet"),
        ("outage", "south"): ("gap", None),
        ("slow-speed", "north"): ("owned", "fastnet"),
        ("slow-speed", "south"): ("owned", "fastnet"),
        ("installation", "north"): ("owned", "metro"),
        ("installation", "south"): ("owned", "metro"),
    }
    _, _, classes, title = page.cells["connectivity", "south"]
    assert "has-gap" in classes
    assert title == "connectivity × south: gap: 1 cell; fastnet: 1 cell"  # noqa: RUF001
    assert page.cells["outage", "south"][3] == "outage × south: gap: 1 cell"  # noqa: RUF001
    palette = colors(["fastnet", "metro"])
    assert palette["fastnet"] in page.cells["outage", "north"][2].split()
    assert palette["metro"] in page.cells["billing", "north"][2].split()
    assert palette["fastnet"] != palette["metro"]
    # Collapsed below the first level by default: no subtree is unfolded.
    assert page.open_nodes == []
    assert page.nodes[:3] == ["billing", "invoice-error", "refund"]


def test_matrix_model_counts_cells_per_share(tmp_path: Path, write_alliance: WriteAlliance) -> None:
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": GAP_CONTRACTS})
    bundle = load([folder]).bundles["metro-home"]
    index = OwnerIndex(bundle)
    built = matrix.build(bundle, index, dt.date(2026, 11, 22))
    assert [c.name for c in built.columns] == ["north", "south"]
    assert built.choices == ["region"]
    connectivity = built.find("connectivity")
    assert connectivity is not None
    south = connectivity.cells[1]
    assert south.cells == 2
    assert [(s.text, n) for s, n in south.shares] == [("gap", 1), ("fastnet", 1)]
    # Before FastNet's contract starts, all of internet is a gap.
    early = matrix.build(bundle, index, dt.date(2025, 6, 1))
    internet = early.find("internet")
    assert internet is not None
    assert [(c.state, c.cells) for c in internet.cells] == [("gap", 2), ("gap", 2)]
    # A budget of one level: children of the roots are not rendered until expanded.
    narrow = matrix.build(bundle, index, dt.date(2026, 11, 22), budget=1)
    assert [r.name for r in narrow.walk()] == ["billing", "connectivity", "installation"]
    assert narrow.rows[1].hidden_children
    opened = matrix.build(bundle, index, dt.date(2026, 11, 22), expand=["internet"], budget=1)
    assert [(r.name, r.open) for r in opened.walk()] == [
        ("billing", False),
        ("connectivity", True),
        ("internet", True),
        ("outage", False),
        ("slow-speed", False),
        ("installation", False),
    ]


def test_an_alliance_of_one_dimension_has_one_column(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = ALLIANCE.replace("    region: [north, south]\n", "")
    folder = write_alliance(tmp_path / "metro-home", **{"alliance.yaml": flat})
    bundle = load([folder]).bundles["metro-home"]
    built = matrix.build(bundle, OwnerIndex(bundle), dt.date(2026, 11, 22))
    assert (built.column_dimension, built.columns, built.choices) == ("", [], [])
    outage = built.find("outage")
    assert outage is not None
    assert [(c.state, c.owner, c.cells) for c in outage.cells] == [("owned", "fastnet", 1)]
    assert main(["audit", str(folder), "--as-of", AS_OF, "--format", "html"]) == 0
    assert cells_of(capsys.readouterr().out).cells["outage", ""][:2] == ("owned", "fastnet")


def test_expand_unfolds_a_subtree_and_its_ancestors(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    html = client.get(f"/ui/alliances/metro-home?asOf={AS_OF}&expand=internet").text
    assert cells_of(html).open_nodes == ["connectivity", "internet"]
    assert 'name="expand" value="internet"' in html  # kept when the day or columns change
    assert "collapse all" in html
    # Unknown nodes are ignored (a link kept across a change of the tree still works).
    assert client.get("/ui/alliances/metro-home?expand=nothing").status_code == 200


def test_a_tree_beyond_the_row_budget_unfolds_by_links(
    web: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "ROW_BUDGET", 3)
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    html = client.get(f"/ui/alliances/metro-home?asOf={AS_OF}").text
    assert cells_of(html).nodes == ["billing", "connectivity", "installation"]
    link = (
        '<a class="expand" href="/ui/alliances/metro-home?asOf=2026-11-22&amp;expand=connectivity'
        '#row-connectivity" aria-label="expand connectivity">expand ▸</a>'
    )
    assert link in html
    assert 'aria-label="expand installation"' not in html  # a leaf has nothing to unfold
    unfolded = cells_of(
        client.get(f"/ui/alliances/metro-home?asOf={AS_OF}&expand=connectivity").text
    )
    assert unfolded.nodes == [
        "billing", "connectivity", "internet", "outage", "slow-speed", "installation",
    ]  # fmt: skip
    assert unfolded.open_nodes == ["connectivity"]
    assert unfolded.cells["outage", "south"][0] == "gap"


def test_columns_and_day_are_checked(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    response = client.get("/ui/alliances/metro-home?cols=channel")
    assert response.status_code == 400
    assert "no dimension &#39;channel&#39; to show as columns; the choices are region" in (
        response.text
    )
    response = client.get("/ui/alliances/metro-home?asOf=2026-13-01")
    assert response.status_code == 400
    assert "is not a date" in response.text
    response = client.get("/ui/alliances/metro-home?asOf=20261122")
    assert response.status_code == 400
    assert "asOf &#39;20261122&#39; is not a date of the form YYYY-MM-DD" in response.text
    for day in ("9999-12-31", "0001-01-01"):
        response = client.get(f"/ui/alliances/metro-home?asOf={day}")
        assert response.status_code == 400
        assert "too far out" in response.text


def test_summary_findings_and_timeline(web: tuple) -> None:
    client, _, tokens = web
    sign_in(client, tokens["auditor"])
    html = client.get(f"/ui/alliances/metro-home?asOf={AS_OF}").text
    assert re.search(r"<dt>cells</dt><dd>10</dd>", html)
    assert re.search(r"<dt>owned</dt><dd>9 <small>90.0%</small></dd>", html)
    assert re.search(r"<dt>errors</dt><dd>1</dd>", html)
    assert re.search(r"<dt>revision</dt><dd>1</dd>", html)
    assert 'data-rule="coverage-gap"' in html
    locate = '<a class="locate" href="/ui/alliances/metro-home?asOf=2026-11-22&amp;expand=internet'
    assert locate + '#row-outage">show in the matrix</a>' in html
    assert "no partner is accountable for 1 cell" in html
    assert re.search(r'<span class="dim">category</span> outage · <span class="dim">region'
                     r"</span> south", html)  # fmt: skip
    # The timeline: a lane per partner, open bounds shown, the contracts listed.
    assert (
        'data-partner="fastnet"><title>fastnet: fastnet-internet: 2026-01-01 → 2028-01-01' in html
    )
    assert 'data-partner="metro"><title>metro: metro-rest: open → open' in html
    assert "<td>2026-01-01</td><td>2028-01-01</td><td>in force</td>" in html
    assert "No future gap or overlap" in html
    # FastNet leaves on 2028-01-01: from 2027-11-01 on it is a future gap, on the timeline.
    later = client.get("/ui/alliances/metro-home?asOf=2027-11-01").text
    assert '<g class="marker" data-date="2028-01-01">' in later
    assert "✗ future-gap</b>: 2 cells lose their accountable partner (fastnet) on 2028-01-01" in (
        later
    )
    assert "<title>2028-01-01: ✗ gap 3 cells</title>" in later  # the marker adds them up


def test_change_log_pages(web: tuple) -> None:
    client, store, tokens = web
    for n in range(24):  # 24 more revisions: the log has 25 entries
        text = ALLIANCE.replace("  name: metro-home\n", f"  name: metro-home\n  title: T{n}\n")
        write(store, Request("metro-home", [("alliance.yaml", text)], force=True), "ed", "put")
    sign_in(client, tokens["auditor"])
    html = client.get("/ui/alliances/metro-home").text
    revisions = [int(r) for r in re.findall(r'<tr data-revision="(\d+)">', html)]
    assert revisions == list(range(25, 5, -1))  # the latest 20, newest first
    assert "revisions 6–25 of 25" in html  # noqa: RUF001
    assert 'href="/ui/alliances/metro-home?log=0#history" rel="prev">← older' in html
    assert "newer →" not in html
    older = client.get("/ui/alliances/metro-home?log=0").text
    assert [int(r) for r in re.findall(r'<tr data-revision="(\d+)">', older)] == list(
        range(20, 0, -1)
    )
    assert "?log=20#history" in older
    assert "Alliance/metro-home <small>changed</small>" in html
    assert "Contract/fastnet-internet <small>created</small>" in older


# -- the same page offline -----------------------------------------------------------------


def test_audit_format_html_is_one_standalone_file(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": GAP_CONTRACTS})
    code = main(["audit", str(folder), "--as-of", AS_OF, "--format", "html"])
    html = capsys.readouterr().out
    assert code == 1  # the gap is an error finding
    assert html.startswith("<!doctype html>")
    assert "<style>" in html and "/ui/static" not in html
    assert "<script" not in html and "<link" not in html
    assert "src=" not in html  # nothing to fetch
    cells = cells_of(html).cells
    assert cells["outage", "south"][0] == "gap"
    assert cells["connectivity", "north"][:2] == ("owned", "fastnet")
    assert "no partner is accountable for 1 cell" in html
    assert 'data-partner="fastnet"' in html
    assert "Change log" not in html


def test_audit_format_html_of_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).parent.parent / "examples"
    assert main(["audit", str(examples), "--as-of", AS_OF, "--format", "html"]) == 0
    html = capsys.readouterr().out
    names = sorted(load([examples]).bundles)
    for name in names:
        assert f'<article class="alliance" id="{name}">' in html
        assert f'<a href="#{name}">{name}</a>' in html
    # A tab per column dimension (radio buttons, no script).
    assert 'id="triple-play-cols-region" checked' in html
    assert 'id="triple-play-cols-channel"' in html
    assert 'id="condominium-cols-building" checked' in html


def test_web_page_and_report_share_one_view_model(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": GAP_CONTRACTS})
    bundle = load([folder]).bundles["metro-home"]
    report = audit(bundle, dt.date(2026, 11, 22))
    page = alliance_page(bundle, report, OwnerIndex(bundle), columns=["region"])
    assert page.summary.cells == 10 and page.summary.owned == 9
    assert [g.rule for g in page.groups] == ["coverage-gap", "gray-zone"]
    assert [lane.partner for lane in page.timeline.lanes] == ["fastnet", "metro"]
    assert page.history is None


def test_the_stylesheet_is_served(web: tuple) -> None:
    client, _, _ = web
    response = client.get("/ui/static/registry.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".st-gap" in response.text


# -- the matrix with a dimension fixed, and more of what the page says ---------------------

# metro-home (with the planted gap) and channels: slow-speed complaints made in a store
# are Metro's, so the slow-speed cells are mixed across the channels the matrix adds up.
BY_CHANNEL = ALLIANCE.replace(
    "    region: [north, south]\n", "    region: [north, south]\n    channel: [web, store]\n"
)
STORE_CONTRACTS = GAP_CONTRACTS.replace(
    "      except: [{category: [outage], region: [south]}]\n",
    "      except: [{category: [outage], region: [south]}, {category: [slow-speed],"
    " channel: [store]}]\n",
).replace(
    "    - where: {category: [billing, installation]}\n",
    "    - where: {category: [billing, installation]}\n"
    "    - where: {category: [slow-speed], channel: [store]}\n",
)


def _by_channel(tmp_path: Path, write_alliance: WriteAlliance) -> Path:
    return write_alliance(
        tmp_path / "metro-home",
        **{"alliance.yaml": BY_CHANNEL, "contracts.yaml": STORE_CONTRACTS},
    )


def test_matrix_with_a_dimension_fixed(tmp_path: Path, write_alliance: WriteAlliance) -> None:
    bundle = load([_by_channel(tmp_path, write_alliance)]).bundles["metro-home"]
    index = OwnerIndex(bundle)
    day = dt.date(2026, 11, 22)
    whole = matrix.build(bundle, index, day)
    slow = whole.find("slow-speed")
    assert slow is not None
    assert [(c.state, c.cells) for c in slow.cells] == [("mixed", 2), ("mixed", 2)]
    assert (whole.cells_per_pair, whole.aggregated, whole.fixed) == (2, ["channel"], [])
    (channel,) = whole.others
    assert channel.nodes == (("web", 0), ("store", 0))
    for node, owner in (("store", "metro"), ("web", "fastnet")):
        fixed = matrix.build(bundle, index, day, fixed={"channel": node})
        slow = fixed.find("slow-speed")
        assert slow is not None
        assert [(c.state, c.owner, c.cells) for c in slow.cells] == [("owned", owner, 1)] * 2
        internet = fixed.find("internet")  # a parent adds up its children, fixed alike
        assert internet is not None and [c.cells for c in internet.cells] == [2, 2]
        assert (fixed.cells_per_pair, fixed.aggregated, fixed.fixed) == (1, [], [("channel", node)])
    # The columns' dimension is not fixed: it is shown whole.
    assert matrix.build(bundle, index, day, fixed={"region": "north"}).fixed == []
    with pytest.raises(ValueError, match="channel=phone"):
        matrix.build(bundle, index, day, fixed={"channel": "phone"})


def test_the_page_fixes_a_dimension_by_its_name(
    web: tuple, tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    client, store, tokens = web
    seed(store, [_by_channel(tmp_path / "three", write_alliance)])
    sign_in(client, tokens["auditor"])
    base = f"/ui/alliances/metro-home?asOf={AS_OF}"
    whole = client.get(base).text
    assert cells_of(whole).cells["slow-speed", "north"][0] == "mixed"
    assert '<select name="channel">' in whole
    assert '<option value="">every channel</option>' in whole
    assert "the parts differ (open the row, or pick one channel above)" in whole
    note = "Each cell stands for 2 cells behind every category × region pair, every channel"  # noqa: RUF001
    assert note in re.sub(r"\s+", " ", whole)
    html = client.get(f"{base}&channel=store&expand=internet").text
    cells = cells_of(html).cells
    assert cells["slow-speed", "north"][:2] == ("owned", "metro")
    assert cells["outage", "south"][0] == "gap"  # the planted gap is in every channel
    assert '<option value="store" selected>store</option>' in html
    assert '<span class="fixed">, channel store</span>' in html
    assert "channel store only" in html
    # The page's links keep the fixed node; "every channel" and a finding's link drop it.
    assert (
        'href="/ui/alliances/metro-home?asOf=2026-11-22&amp;channel=store#matrix">collapse all'
        in (html)
    )
    assert (
        'href="/ui/alliances/metro-home?asOf=2026-11-22&amp;expand=internet#matrix">every channel'
        in (html)
    )
    locate = "/ui/alliances/metro-home?asOf=2026-11-22&amp;expand=internet#row-outage"
    assert f'<a class="locate" href="{locate}">' in html
    # A node the dimension lacks is refused; a fix of the columns or of no dimension is left out.
    refused = client.get(f"{base}&channel=stor")
    assert refused.status_code == 400
    assert "cannot fix channel: unknown channel &#39;stor&#39; (did you mean &#39;store&#39;?)" in (
        refused.text
    )
    for ignored in ("region=north", "nothing=here", "channel="):
        page = client.get(f"{base}&{ignored}")
        assert page.status_code == 200
        assert cells_of(page.text).cells["slow-speed", "north"][0] == "mixed"


def test_links_keep_the_fixed_nodes() -> None:
    links = Links("/ui/alliances/a", "2026-11-22", None, ("internet",), (("channel", "web"),))
    assert links.expand("tv") == (
        "/ui/alliances/a?asOf=2026-11-22&channel=web&expand=internet&expand=tv"
    )
    assert links.log(3) == "/ui/alliances/a?asOf=2026-11-22&channel=web&expand=internet&log=3"
    assert links.locate("outage", "internet") == (
        "/ui/alliances/a?asOf=2026-11-22&expand=internet#row-outage"
    )


def test_a_waived_gap_is_the_cells_not_a_partners(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": GAP_CONTRACTS})
    (folder / "waivers.yaml").write_text(
        "apiVersion: alliance-registry/v1\nkind: Waiver\n"
        "metadata: {name: south-outages, alliance: metro-home}\n"
        "spec: {rule: coverage-gap, where: {category: [outage], region: [south]}, reason: r,"
        " approvedBy: board, expires: 2027-06-30}\n",
        encoding="utf-8",
    )
    bundle = load([folder]).bundles["metro-home"]
    built = matrix.build(bundle, OwnerIndex(bundle), dt.date(2026, 11, 22))
    connectivity = built.find("connectivity")
    assert connectivity is not None
    south = connectivity.cells[1]
    assert [(s.text, n) for s, n in south.shares] == [("gap, waived", 1), ("fastnet", 1)]
    main(["audit", str(folder), "--as-of", AS_OF, "--format", "html"])
    html = capsys.readouterr().out
    opening = r'<span class="mcell st-mixed[^"]*" data-row="connectivity" data-col="south"'
    cell = re.search(opening + r".*?</small>\n?</span>", html, re.S)
    assert cell is not None
    text = cell.group(0)
    # The partner on a line of its own, the waived gap on another, said "gap, waived".
    assert re.search(
        r'<small class="who"><span class="pn"><i class="dot p\d+"></i>fastnet</span> </small>', text
    ), text
    assert '<small class="faults"><span class="fault">✗ gap, waived</span> </small>' in text
    assert "(waived)" not in html
    assert 'title="connectivity × south: gap, waived: 1 cell; fastnet: 1 cell"' in text  # noqa: RUF001


def test_the_alliance_list_shows_titles_and_todays_counts(
    web: tuple, tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    client, store, tokens = web
    titled = {name: text.replace("metro-home", "titled-home") for name, text in MINIMAL.items()}
    titled["alliance.yaml"] = titled["alliance.yaml"].replace(
        "  name: titled-home\n", "  name: titled-home\n  title: Titled Home services\n"
    )
    seed(store, [write_files(tmp_path / "titled-home", titled)])
    sign_in(client, tokens["admin"])
    html = client.get("/ui/").text
    today = dt.datetime.now(dt.UTC).date()
    for name, title in (
        ("metro-home", None),
        ("other-home", None),
        ("titled-home", "Titled Home services"),
    ):
        item = re.search(rf'<li data-alliance="{name}">(.*?)</li>', html, re.S)
        assert item is not None, html
        summary = audit(load([tmp_path / name]).bundles[name], today).summary
        for count, word in ((summary.error, "error"), (summary.warning, "warning")):
            assert f">{count} {word}{'' if count == 1 else 's'}</span>" in item.group(1)
        assert f'<a href="/ui/alliances/{name}">{name}</a>' in item.group(1)
        if title is not None:
            assert f'<span class="title">{title}</span>' in item.group(1)
        else:
            assert 'class="title"' not in item.group(1)
    assert f"The counts are of each one's audit today, {today}." in html


# FastNet's one-month trial before its contract: a bar far too short for its name.
TRIAL = CONTRACTS + "---\n" + TRIAL_CONTRACT


def test_every_timeline_bar_is_labelled(tmp_path: Path, write_alliance: WriteAlliance) -> None:
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": TRIAL})
    bundle = load([folder]).bundles["metro-home"]
    page = alliance_page(bundle, audit(bundle, dt.date(2026, 11, 22)), OwnerIndex(bundle))
    bars = {bar.contracts[0]: bar for lane in page.timeline.lanes for bar in lane.bars}
    trial, internet = bars["fastnet-internet-trial"], bars["fastnet-internet"]
    assert trial.label == "fastnet-internet-trial" and trial.width < 60
    assert (trial.place, trial.label_x) == ("after", round(trial.x + trial.width + 4, 1))
    # The label takes room on its row: the contract that follows goes on the next one.
    assert internet.place == "inside" and internet.y == trial.y + page.timeline.lane_height
    assert all(bar.label for bar in bars.values())
    end = trial.label_x + len(trial.label) * 5.6
    assert end < page.timeline.width


def test_a_short_bar_near_the_right_edge_is_labelled_before_it(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    late = TRIAL.replace(
        "{from: 2025-12-01, until: 2026-01-01}", "{from: 2028-01-01, until: 2028-02-01}"
    )
    folder = write_alliance(tmp_path / "metro-home", **{"contracts.yaml": late})
    bundle = load([folder]).bundles["metro-home"]
    page = alliance_page(bundle, audit(bundle, dt.date(2026, 11, 22)), OwnerIndex(bundle))
    (trial,) = [b for lane in page.timeline.lanes for b in lane.bars if len(b.contracts[0]) > 16]
    assert trial.place == "before" and trial.label_x == round(trial.x - 4, 1)
    html = environment().get_template("report.html").render(pages=[page], css="", version="test")
    assert f'<text class="barlabel before" x="{trial.label_x}"' in html
