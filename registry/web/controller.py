"""The auditor's page at `/ui/`: sign in with a token (kept in an HttpOnly,
SameSite=Strict cookie), pick an alliance, read its audit. Read-only.

The page is for auditor, manager and admin tokens; partner and resolver tokens
are refused with a page saying why, and an alliance the token cannot see is
404, as in the API. Everything works without JavaScript: subtrees fold with
<details>, and what the server has not rendered is one `expand` link away.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from registry.access import Principal
from registry.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    RegistryError,
    Unauthorized,
    Unavailable,
)
from registry.messages import unknown
from registry.model import DAY_FORM, parse_day
from registry.service import Filters, Registry
from registry.service.decisions import DecisionOut, shown
from registry.views.history import HISTORY_PAGE, history_view, history_window
from registry.views.matrix import column_choices
from registry.views.pages import AlliancePage, Listed, alliance_page, listed
from registry.views.templating import STATIC, environment

COOKIE = "registry_token"
UI_ROLES = ("auditor", "manager", "admin")
MAX_EXPANDED = 64  # nodes unfolded at once through `expand`
DECISION_PAGE = 50
DECISION_STATUSES = ("owned", "unowned", "conflict", "ambiguous")
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it a browser sends `Origin: null` with the page's own
    # forms, and one without Sec-Fetch-Site could not sign in (see _cross_site).
    "Referrer-Policy": "same-origin",
}
log = logging.getLogger("registry.web")
# The page's status for each kind of refusal (a subclass takes its ancestor's);
# 401 sends the reader back to signing in.
PAGE_STATUS: dict[type[RegistryError], int] = {
    InvalidRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Unavailable: 503,
}
TITLES = {400: "Bad request", 403: "Refused", 404: "Not found", 500: "Server error"}


def registry(request: Request[Any, Any, Any]) -> Registry:
    state: Registry = request.app.state["registry"]
    return state


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def static_files() -> Router:
    return create_static_files_router(
        path="/ui/static",
        directories=[STATIC],
        name="ui-static",
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=300),
        before_request=_no_control_characters,
    )


# The page's own query parameters; any other one names a dimension to fix
# (`?channel=web`), so a dimension of one of these names cannot be fixed by URL.
PAGE_PARAMETERS = ("asOf", "cols", "expand", "log", "revision", "asKnownAt")


async def _no_control_characters(request: Request[Any, Any, Any]) -> None:
    """No file name holds a NUL or another control character; the file system would
    refuse to look one up (a crash), so say there is no such file before it is asked."""
    name = request.url.path.removeprefix("/ui/static/")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise NotFoundException(
            f"no file {name!r} in /ui/static (no file name holds a control character)"
        )


@dataclass(frozen=True)
class Links:
    """The page's own URLs, keeping what was asked (day, columns, fixed dimensions,
    unfolded nodes)."""

    base: str
    as_of: str | None
    cols: str | None
    expanded: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...] = ()
    # The revision asked about (`revision` or `asKnownAt`), kept by every link.
    pinned: tuple[tuple[str, str], ...] = ()

    def url(
        self,
        expanded: Sequence[str],
        log: int | None = None,
        fixed: Sequence[tuple[str, str]] | None = None,
    ) -> str:
        params: list[tuple[str, str | None]] = [("asOf", self.as_of), ("cols", self.cols)]
        params += list(self.pinned)
        params += list(self.fixed if fixed is None else fixed)
        params += [("expand", name) for name in expanded]
        params.append(("log", None if log is None else str(log)))
        query = urlencode([(k, v) for k, v in params if v is not None])
        return f"{self.base}?{query}" if query else self.base

    def expand(self, name: str) -> str:
        return self.url(self.expanded if name in self.expanded else (*self.expanded, name))

    def locate(self, row: str, unfold: str | None) -> str:
        """The page with `row` on screen in the matrix (its parent unfolded), every
        dimension aggregated again: a fixed node could hide what the finding is about."""
        expanded = self.expanded
        if unfold is not None and unfold not in expanded:
            expanded = (*expanded, unfold)
        return f"{self.url(expanded, fixed=())}#row-{row}"

    def collapse_all(self) -> str:
        return self.url(())

    def log(self, after: int) -> str:
        return self.url(self.expanded, after)


def _page(
    name: str,
    context: dict[str, Any],
    status: int = 200,
    cookie_gone: bool = False,
    retry_after: int | None = None,
) -> Template:
    headers = HEADERS if retry_after is None else {**HEADERS, "Retry-After": str(retry_after)}
    response = Template(name, context=context, status_code=status, headers=headers)
    if cookie_gone:
        response.delete_cookie(COOKIE, path="/ui")
    return response


def _login(message: str | None = None, status: int = 200, tone: str = "bad") -> Template:
    return _page(
        "login.html", {"message": message, "tone": tone}, status, cookie_gone=message is not None
    )


def _refusal(role: str) -> str:
    use = "owner queries" if role == "resolver" else "its alliance's documents and audit"
    return (
        f"The auditor's page is for auditor, manager and admin tokens; this is a {role} "
        f"token. It can still use the API (/v1/...) for {use}. Sign out and sign in with "
        "an auditor token."
    )


def _cross_site(request: Request[Any, Any, Any]) -> str | None:
    """Why a form was posted from a page of another site, or None when it was not.

    Browsers say where a POST comes from. `Sec-Fetch-Site`, which no page can set,
    decides where it is sent: same-origin, or none for a request the reader started.
    Browsers without it send `Origin`, which must then be this server as the request
    names it (scheme and Host). A client that sends neither, such as curl, is no page
    that another site could steer, so it may sign in."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        # Origin is not read then: a page whose referrer policy hides it sends `null`.
        return None if site.lower() in ("same-origin", "none") else f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("origin")
    if origin is not None:
        scheme = request.url.scheme
        own = _origin(f"{scheme}://{request.headers.get('host', '')}", scheme)
        if _origin(origin, scheme) != own:
            return f"Origin: {origin}, not {own}"
    return None


def _origin(text: str, scheme: str) -> str:
    """An origin as compared: lower case, without the scheme's default port."""
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    text = text.strip().lower()
    return text.removesuffix(default) if default else text


def _cross_site_refusal(why: str) -> Template:
    return _page(
        "error.html",
        {
            "status": 403,
            "title": "Refused",
            "message": f"This form was sent from a page of another site ({why}), and only "
            "the registry's own pages may sign in or out. Open /ui/ and sign in there.",
            "signed_in": False,
            "who": None,
        },
        403,
    )


def _principal(request: Request[Any, Any, Any]) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Sign in with a token to see the auditor's page.")
    principal = registry(request).principal(f"Bearer {token}")
    if principal.role not in UI_ROLES:
        raise Forbidden(_refusal(principal.role))
    return principal


def _page_status(error: RegistryError) -> int:
    for kind in type(error).__mro__:
        status = PAGE_STATUS.get(kind)
        if status is not None:
            return status
    return 400


def on_ui_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The web door's one mapping of errors to pages: 401 back to signing in, the
    rest explained on an error page."""
    if isinstance(exc, RegistryError):
        status, message = _page_status(exc), exc.message
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    else:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        status, message = 500, "The registry failed to show this page; the error is in its log."
    if status == 401:
        signed = bool(request.cookies.get(COOKIE))
        if signed:
            message = "The token of this session is no longer valid; sign in again."
        return _login(message, 401)
    signed_in = status != 403 and bool(request.cookies.get(COOKIE))
    return _page(
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Error"),
            "message": message,
            "signed_in": signed_in or status == 403,
            "who": None,
        },
        status,
        retry_after=exc.retry_after if isinstance(exc, Unavailable) else None,
    )


class WebController(Controller):
    path = "/ui"
    include_in_schema = False
    exception_handlers = {
        RegistryError: on_ui_error,
        HTTPException: on_ui_error,
        Exception: on_ui_error,
    }

    @get("/", summary="The alliances the signed-in token sees")
    async def home(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if not request.cookies.get(COOKIE):
            return _login()
        principal = _principal(request)
        state = registry(request)
        day = _day(None)

        def listing() -> list[Listed]:
            # Each alliance's audit of the day, from its compiled view (built once per
            # revision, the audit kept per day): every alliance the token sees is
            # compiled on the first visit. Fine for the registries this page is for
            # (tens of alliances); a registry of thousands would want a stored summary.
            return [
                listed(view.bundle, view.audit(day))
                for view in (state.view(name) for name, _ in state.visible(principal))
            ]

        alliances = await anyio.to_thread.run_sync(listing)
        return _page("alliances.html", {"alliances": alliances, "day": day, "who": principal.actor})

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        elsewhere = _cross_site(request)
        if elsewhere is not None:
            return _cross_site_refusal(elsewhere)
        form = await request.form()
        token = str(form.get("token") or "").strip()
        if not token:
            return _login("Paste a token to sign in.", 400)
        try:
            principal = registry(request).principal(f"Bearer {token}")
        except Unauthorized:
            return _login("That token is not valid: unknown, revoked or mistyped.", 401)
        if principal.role not in UI_ROLES:
            return _page(
                "error.html",
                {
                    "status": 403,
                    "title": "Refused",
                    "message": _refusal(principal.role),
                    "signed_in": False,
                    "who": None,
                },
                403,
                cookie_gone=True,
            )
        response: Redirect = Redirect("/ui/", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        elsewhere = _cross_site(request)
        if elsewhere is not None:
            return _cross_site_refusal(elsewhere)
        response = Redirect("/ui/", status_code=303)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    @get("/alliances/{alliance:str}", summary="The auditor's page of one alliance")
    async def alliance(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        as_of: Annotated[str | None, QueryParameter(name="asOf")] = None,
        cols: Annotated[str | None, QueryParameter(name="cols")] = None,
        expand: Annotated[list[str] | None, QueryParameter(name="expand")] = None,
        log_after: Annotated[int | None, QueryParameter(name="log", ge=0)] = None,
        revision: Annotated[str | None, QueryParameter(name="revision")] = None,
        known_at: Annotated[str | None, QueryParameter(name="asKnownAt")] = None,
    ) -> Response[Any]:
        principal = _principal(request)
        state = registry(request)
        state.allow(principal, "audit", alliance)
        day = _day(as_of)
        pinned = _pinned(revision, known_at)
        expanded = tuple(dict.fromkeys(expand or ()))[:MAX_EXPANDED]
        asked = {
            name: value
            for name, value in request.query_params.items()
            if name not in PAGE_PARAMETERS and value
        }
        engine = request.app.template_engine
        assert engine is not None

        def draw() -> str:
            at = _revision(state, alliance, pinned)
            page = build_page(
                state,
                principal,
                alliance,
                day=day,
                cols=cols or None,
                expanded=expanded,
                log_after=log_after,
                fixed=asked,
                revision=at,
            )
            links = Links(
                f"/ui/alliances/{alliance}",
                as_of or None,
                cols or None,
                expanded,
                tuple(page.matrix.fixed),
                tuple((k, v) for k, v in (("revision", revision), ("asKnownAt", known_at)) if v),
            )
            context = {
                "revision": at,
                "current": state.revision(alliance),
                "decisions": principal.may("decisions", alliance),
                "page": page,
                "links": links,
                "page_parameters": PAGE_PARAMETERS,
                "alliances": state.visible(principal),
                "who": principal.actor,
            }
            html: str = engine.get_template("alliance.html").render(**context)
            return html

        # Built and rendered off the event loop: a large alliance's page takes a
        # while, and owner queries answered meanwhile take microseconds.
        try:
            html = await anyio.to_thread.run_sync(draw)
        except OverflowError:  # the horizon or the timeline runs past year 9999 or before 1
            raise InvalidRequest(f"asOf {day} is too far out; pick a day nearer now") from None
        return Response(html, media_type=MediaType.HTML, headers=HEADERS)

    @get("/alliances/{alliance:str}/decisions", summary="The alliance's decisions, latest first")
    async def decisions(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        partner: Annotated[str | None, QueryParameter(name="partner")] = None,
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    ) -> Response[Any]:
        principal = _principal(request)
        state = registry(request)
        state.allow(principal, "decisions", alliance)
        if cursor is not None and (len(cursor) != 36 or not cursor.isascii()):
            raise InvalidRequest("not a cursor of this page")
        filters = Filters(partner=partner or None, status=status or None, before=cursor)

        def read() -> tuple[list[DecisionOut], str | None, list[str]]:
            found, following = state.decisions(principal, alliance, filters, None, DECISION_PAGE)
            partners = sorted(state.view(alliance).bundle.partners)
            return found, following, partners

        found, following, partners = await anyio.to_thread.run_sync(read)
        more = None
        if following is not None:
            query = [("partner", partner), ("status", status), ("cursor", following)]
            more = f"/ui/alliances/{alliance}/decisions?" + urlencode(
                [(k, v) for k, v in query if v]
            )
        context = {
            "alliance": alliance,
            "decisions": found,
            "next": more,
            "partner": partner,
            "status": status,
            "partners": partners,
            "statuses": DECISION_STATUSES,
            "who": principal.actor,
        }
        return _page("decisions.html", context)

    @get("/alliances/{alliance:str}/decisions/{decision_id:str}", summary="A decision replayed")
    async def decision(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        decision_id: FromPath[str],
    ) -> Response[Any]:
        principal = _principal(request)
        state = registry(request)
        found = await anyio.to_thread.run_sync(state.decision, principal, alliance, decision_id)
        replay = await anyio.to_thread.run_sync(state.replay_all, [found])
        context = {
            "alliance": alliance,
            "decision": shown(found),
            "replay": replay[0],
            "who": principal.actor,
        }
        return _page("decision.html", context)


def build_page(
    state: Registry,
    principal: Principal,
    alliance: str,
    *,
    day: dt.date,
    cols: str | None,
    expanded: Sequence[str],
    log_after: int | None,
    fixed: Mapping[str, str] | None = None,
    revision: int | None = None,
) -> AlliancePage:
    """The page of one alliance at `revision` (default: its current one; the benchmark
    calls this). `fixed` holds the query's other parameters: a dimension's name and the
    node to fix it to; one that names no dimension is left out, a node it lacks refused."""
    view = state.view(alliance, revision)
    choices = column_choices(view.bundle)
    if cols is not None and cols not in choices:
        raise InvalidRequest(
            f"no dimension '{cols}' to show as columns; the choices are "
            f"{', '.join(choices) or 'none'}",
        )
    space = view.bundle.space
    fixes = {name: node for name, node in (fixed or {}).items() if name in space.by_name}
    for name, node in fixes.items():
        nodes = space.dimensions[space.by_name[name]].nodes
        if node not in nodes:
            raise InvalidRequest(f"cannot fix {name}: {unknown(name, node, list(nodes))}")
    history = None
    if principal.may("history", alliance):
        after = history_window(view.revision, log_after)
        entries = state.history(alliance, after, HISTORY_PAGE)
        history = history_view(entries, after, view.revision)
    return alliance_page(
        view.bundle,
        view.audit(day),
        view.index,
        columns=[cols],
        expand=expanded,
        history=history,
        fixed=fixes,
    )


def _pinned(revision: str | None, known_at: str | None) -> int | dt.datetime | None:
    """The revision the page is asked about: a number, an instant, or None (current)."""
    if revision and known_at:
        raise InvalidRequest("give revision or asKnownAt, not both")
    if revision:
        if not (revision.isascii() and revision.isdigit()) or not 1 <= int(revision) < 2**31:
            raise InvalidRequest(f"revision '{revision[:40]}' is not a revision number")
        return int(revision)
    if known_at:
        try:
            instant = msgspec.convert(known_at, dt.datetime)
        except msgspec.ValidationError:
            raise InvalidRequest(
                f"asKnownAt '{known_at[:40]}' is not an instant such as 2026-11-22T10:00:00Z"
            ) from None
        return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
    return None


def _revision(state: Registry, alliance: str, pinned: int | dt.datetime | None) -> int | None:
    if isinstance(pinned, dt.datetime):
        return state.revision_at(alliance, pinned)
    if pinned is not None:
        state.check_revision(alliance, pinned)
    return pinned


def _day(text: str | None) -> dt.date:
    if not text:
        return dt.datetime.now(dt.UTC).date()
    day = parse_day(text)
    if day is None:
        raise InvalidRequest(f"asOf '{text}' is not a date {DAY_FORM}")
    return day
