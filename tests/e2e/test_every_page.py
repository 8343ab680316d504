"""Every page as every demo user meets it, on a desktop and on a phone: nothing scrolls sideways, nothing errs.

For each persona (the demo clinic's people, its superuser, and a visitor who is not logged in) and each width, one
browser context visits every page that person can reach, in Chinese, then one address of each kind again in
English, and fails on: a page wider than the window (or a box in it scrolling sideways, or reaching past its edge),
on a phone a list still laid out as a table or a top bar on more than one line, a console error or uncaught
exception, a Content-Security-Policy violation, and any response of 500 or more (the page's own requests included).
All of one round's problems are reported at once, each naming the persona, the width, the language and the URL
(and the page whose link led there). E2E_SCREENSHOTS=1 keeps a picture of each page that fails in /tmp/every-*.png.

Which pages: the URL names come from the URLconf by way of the authorization matrix's ROUTES (a URL without
arguments is visited when the matrix says the persona may GET it); the pages of one piece, one issue or one review
are reached by following the links on the pages visited, so they are the ones the person is offered. The admin's
pages (index, every change list and one change form per model) are visited by the superuser. A page left out is
named in NOT_PAGES with the reason, and test_every_page_was_visited keeps that list honest.
"""

import datetime
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from accounts.models import User
from audit.exports import open_job, run_job
from audit.forms import events_matching
from audit.models import ExportJob
from review import bulletins, reading
from review.management import demo_history
from review.management.commands import seed_demo
from review.models import Document, Kind, Publication
from review.signoff import signatures_of, verification_code

from ..test_authorization_matrix import BY_NAME, OK, ROUTES, method_not_allowed
from .conftest import PHONE_USER_AGENT, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {
    "desktop": {"viewport": {"width": 1366, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "user_agent": PHONE_USER_AGENT,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
}
PERSONAS = [username for username, *_rest in seed_demo.PEOPLE] + ["admin", "anonymous"]

# Web addresses that are not pages to look at, and why.
NOT_PAGES = {
    "review:home": "a redirect to the queue or the pieces list",
    "review:attachment": "a file download",
    "review:signoff_sheet": "a PDF",
    "review:register_download": "a spreadsheet or CSV download",
    "review:bulletin_pdf": "a PDF",
    "review:bulletin_html": "the issue as an HTML file to download, for the website",
    "review:reading_review_pdf": "a PDF",
    "review:audit_verification": "the fragment the audit page polls (checked as part of that page)",
    "review:audit_export_download": "a file download",
    "review:audit_export_manifest": "a JSON download",
}
# Pages visited though the matrix leaves them out (it tests them elsewhere).
EXTRA_PAGES = {"login", "api:docs"}


def is_page(route) -> bool:
    """Whether the matrix's route is a web page: one it reads with GET (a POST-only action answers GET with 405)."""
    return not route.api and any(p.method == "GET" and p.expect is not method_not_allowed for p in route.probes)


PAGES = {name for name, route in ROUTES.items() if is_page(route) and name not in NOT_PAGES} | EXTRA_PAGES

# Listens in every page (an init script runs before the page's own scripts, whatever the CSP says).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""
# What sticks out: the page wider than the window; an element scrolling sideways inside it (a table in a box with
# its own scroll bar does not fit either) or reaching past the window's edge; on a phone, a list still laid out
# as a table, and a top bar on more than one line.
LAYOUT = """
(phone) => {
  const root = document.documentElement, width = root.clientWidth, problems = [];
  if (root.scrollWidth > window.innerWidth || root.scrollWidth > width)
    problems.push(`the page is ${root.scrollWidth} px wide in a ${width} px window`);
  // A piece's text (and its redline) may hold a wide table, Redoc's code samples are code: they scroll, as meant.
  // The admin's change lists scroll in their own box, as Django made them (the site's own lists are cards).
  const allowed = [
    ".body", "trix-editor", ".table-editor", ".redline", ".highlighted", "redoc", "#redoc-container",
    "#changelist .results",
  ].join(", ");
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].slice(0, 3).map((c) => "." + c).join("");
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const flagged = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!visible(el) || el.closest(allowed) || flagged.some((f) => f.contains(el))) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} scrolls sideways (${el.scrollWidth} px in ${el.clientWidth})`);
      flagged.push(el);
    } else if (box.width > 1 && box.right > width + 1) {
      problems.push(`${name(el)} reaches ${Math.round(box.right)} px`);
      flagged.push(el);
    }
  }
  if (phone && !location.pathname.startsWith("/admin/")) {
    for (const table of document.querySelectorAll("main table"))
      if (visible(table) && !table.closest(allowed) && getComputedStyle(table).display === "table")
        problems.push(`${name(table)} is a table, not cards`);
    const tops = [...document.querySelectorAll("header.topbar :is(a, button, summary)")]
      .filter(visible).map((el) => el.getBoundingClientRect().top).sort((a, b) => a - b);
    const lines = tops.filter((top, i) => i === 0 || top > tops[i - 1] + 16).length;
    if (lines > 1) problems.push(`the top bar takes ${lines} lines`);
  }
  return problems;
}
"""
# Only links to these are followed; the rest of a page's links are to pages visited anyway, downloads or elsewhere.
FOLLOWED = PAGES - {"login"}


def page_name(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


@dataclass
class Visit:
    """One browser context's round: the problems it saw, and every address it has been to."""

    persona: str
    width: str
    problems: list = field(default_factory=list)
    seen: set = field(default_factory=set)
    first_of_kind: dict = field(default_factory=dict)  # URL name → first address visited
    language: str = "zh-hans"
    url: str = "(login)"
    found_on: str | None = None  # the page whose link led to this one

    def note(self, problem: str):
        where = f"{self.url} (linked from {self.found_on})" if self.found_on else self.url
        self.problems.append(f"{self.persona} · {self.width} · {self.language} · {where}: {problem}")


def start_pages(persona: str) -> list[str]:
    """Return the pages without arguments the persona may open (by the matrix), and the public ones."""
    urls = []
    for name in sorted(PAGES):
        route = ROUTES.get(name)
        if route is None:
            continue
        probes = [p for p in route.probes if p.method == "GET" and p.targets == "none" and not p.query]
        if probes and all(p.expect(BY_NAME[persona], None) == OK for p in probes):
            urls.append(reverse(name))
    if persona == "anonymous":
        urls.append(reverse("login"))
    if persona in ("anonymous", "admin"):  # the API's documentation: the same for everyone, so twice is enough
        urls.append(reverse("api:docs"))
    # A sheet's check, reached by its QR code: the published piece's.
    published = Document.objects.filter(state=Document.State.PUBLISHED).first()
    urls.append(reverse("review:verify", args=[verification_code(published, signatures_of(published))]))
    return urls


def admin_pages() -> list[str]:
    """Return the admin's index, every change list and one change form for each model with a row."""
    urls = [reverse("admin:index")]
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return urls


def watch(page, visit: Visit):
    page.on("console", lambda m: m.type == "error" and visit.note(f"console error: {m.text}"))
    page.on("pageerror", lambda e: visit.note(f"uncaught exception: {e}"))
    page.on("response", lambda r: r.status >= 500 and visit.note(f"{r.status} from {r.url}"))


def look(page, visit: Visit, url: str) -> list[str]:
    """Open the page, check it, and return the paths of its links to pages worth following."""
    visit.url = url
    response = page.goto(url)
    if page_name(urlsplit(url).path) == "api:docs":
        # Redoc draws the page once it has the schema; what it loads then (its sidebar's images) counts too.
        page.wait_for_selector(".api-content")
        page.wait_for_load_state("networkidle")
    if response is not None and response.status >= 400:
        visit.note(f"answered {response.status}")
    problems = page.evaluate(LAYOUT, visit.width == "phone")
    for problem in problems:
        visit.note(problem)
    # E2E_SCREENSHOTS=1: a picture of each page that does not fit, to look at; =all: of every page.
    if os.environ.get("E2E_SCREENSHOTS") == "all" or (problems and os.environ.get("E2E_SCREENSHOTS")):
        slug = re.sub(r"\W+", "-", url).strip("-") or "home"
        page.screenshot(
            path=f"/tmp/every-{visit.persona}-{visit.width}-{visit.language}-{slug}.png", full_page=True, timeout=60_000
        )
    if urlsplit(page.url).path.startswith("/admin/"):
        return []
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    return [href for href in hrefs if href.startswith("/") and page_name(urlsplit(href).path) in FOLLOWED]


def go_round(page, visit: Visit, urls: list[str]):
    """Visit the pages and every followed link they lead to, each address once."""
    queue = [(url, None) for url in urls]
    while queue:
        url, found_on = queue.pop(0)
        if url in visit.seen:
            continue
        visit.seen.add(url)
        visit.first_of_kind.setdefault(page_name(urlsplit(url).path) or url, url)
        visit.found_on = found_on
        queue.extend((href, url) for href in look(page, visit, url) if href not in visit.seen)
        landed = urlsplit(page.url).path  # where a redirect led (a bulletin's edit link opens the issue's form)
        visit.first_of_kind.setdefault(page_name(landed) or landed, landed)
    visit.found_on = None


@pytest.fixture
def clinic(demo):
    """The demo clinic with what its six months of history would add to visit: an issue of the bulletin, a
    post-publication review with a finding, and an audit export (seed_demo --no-history leaves them out)."""
    users = {user.username: user for user in User.objects.all()}
    demo_history.bulletin_issue(users)  # signed off
    # And the next issue, a draft: its edit page.
    approved = Document.objects.filter(state=Document.State.APPROVED, kind=Kind.NEWS, drafter=users["drafter"])
    bulletins.save_issue(
        user=users["drafter"],
        title="卫生院工作简报",
        number=bulletins.next_number(timezone.localdate().year),
        issued_on=timezone.localdate(),
        editor_note="下期草稿。",
        items=[bulletins.Item(approved.first(), "工作动态")],
    )
    today = timezone.localdate()
    review = reading.open_review(
        by=users["leader"], since=today - datetime.timedelta(days=30), until=today,
        reviewers=[users["leader"], users["principal"]],
    )  # fmt: skip
    reading.record_finding(
        review=review, publication=Publication.objects.first(), user=users["leader"], verdict="fine",
        category=None, severity="", note="", corrected=False,
    )  # fmt: skip
    job = open_job(ExportJob.objects.create(requested_by=users["auditor"], format=ExportJob.Format.CSV, filters={}))
    run_job(job, events_matching(job.filters))


# URL names visited by some persona at some width, for the last test.
VISITED = set()
ROUNDS = []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_fits_and_runs_clean(persona, width, clinic, new_page, live_server):
    visit = Visit(persona, width)
    page = new_page(**WIDTHS[width])
    page.context.expose_function("reportCspViolation", lambda text: visit.note(f"CSP violation: {text}"))
    page.context.add_init_script(REPORT_CSP_VIOLATIONS)
    watch(page, visit)
    if persona != "anonymous":
        log_in(page, persona)
    go_round(page, visit, start_pages(persona) + (admin_pages() if persona == "admin" else []))
    if width == "phone" and persona != "anonymous":
        # The bar is one line because the navigation folds behind the menu button: it must open, and fit.
        visit.url = reverse("review:documents")
        page.goto(visit.url)
        page.click("header details.menu > summary")
        if not page.locator("header nav a[href='/documents/']").is_visible():
            visit.note("the menu does not open")
        if page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
            visit.note("the open menu is wider than the window")
    VISITED.update(visit.first_of_kind)

    # A sample in English: one address of each kind (of the admin's, its index and the workflow's form).
    visit.language = "en"
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    for name, url in visit.first_of_kind.items():
        if not name.startswith("admin:") or name in ("admin:index", "admin:review_workflow_change"):
            look(page, visit, url)
    assert page.evaluate("document.documentElement.lang") == "en", "the English sample was not in English"
    ROUNDS.append((persona, width))

    assert not visit.problems, f"{len(visit.problems)} problem(s) on {len(visit.seen)} pages:\n" + "\n".join(
        visit.problems
    )


def test_every_page_was_visited():
    """Every web page of the URLconf (by way of the matrix's ROUTES) was visited by someone, or is in NOT_PAGES."""
    if len(ROUNDS) < len(PERSONAS) * len(WIDTHS):
        pytest.skip("only when every persona has been round at every width")
    web = {name for name, route in ROUTES.items() if is_page(route)}
    assert set(NOT_PAGES) <= web, "NOT_PAGES names a page the matrix does not know"
    assert sorted(web - set(NOT_PAGES) - VISITED) == []
    assert {"admin:index", "admin:review_workflow_change", "api:docs", "review:verify", "review:audit"} <= VISITED
