"""Who may do what: every URL pattern × every persona × pieces in every state, in both departments.

The expected outcome of each case comes from the small tables and rule functions below, written from
DESIGN.md (rules 1, 3, 4, 6 and 9) and README.md, never from the application's own permission code. A URL the
resolver knows but the ROUTES table does not classify fails the test, so a new page or API endpoint cannot
slip in without its row in the matrix.

Personas: the demo clinic's people (seed_demo.PEOPLE) and its superuser, plus "colleague" (a second drafter of
department 1 who also does 初审) and "dual" (初审 and 复审 in department 1): without someone holding two roles,
"the drafter never reviews their own piece" and "no one acts at two stages" could not be put to the test.
Then an anonymous visitor, and a copy of officer logged in and then deactivated.

Reading an outcome: "404" the piece is hidden (never a hint that it exists), or a sheet code no sheet has;
"403" visible but not allowed; "302 refused" the web's answer to a late click or a piece in the wrong state (a
redirect with a message); "409" the API's; "302 login" / "401" no active user; "logged" the refusal is in the
audit log; "done" the action is in the audit log; "405" a method the URL does not take (checked after login,
before the piece); "(not JSON)" an API error that is not JSON. The piece's state is checked before the person:
a late click is a conflict for everyone who may see the piece, never a 403.

The pieces and people are built once for the module, inside a transaction rolled back at its end; each request
runs in a savepoint that is rolled back too, so no case changes the next one's state. Sign-off sheet PDFs are
stubbed: what is tested here is who gets one (tests/test_signoff_sheet.py renders them).
"""

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.middleware import SessionTimeoutMiddleware
from accounts.models import Department, Membership, User
from accounts.services import add_membership
from accounts.tokens import issue_token
from audit.exports import open_job, run_job
from audit.forms import events_matching
from audit.models import AuditEvent, ExportJob
from review import services
from review.management.commands import seed_demo
from review.models import Attachment, Document, StageReview
from review.signoff import signatures_of, verification_code

Role = Membership.Role
PASSWORD = seed_demo.PASSWORD  # the demo's password; approvals are signed by re-entering it
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# With a misspelling the pre-checks find in every piece, so that a reviewer has a finding to dismiss.
BODY = "<div>请广大居民相互转告，再接再励。</div>"
D1, D2 = (code for code, _name in seed_demo.DEPARTMENTS)  # public-health, medical-affairs

# ---------------------------------------------------------------------------------------------------------
# The rule, as the test reads it.

# The clinic's stages in order (DESIGN rule 1; review/defaults.py); the last only for major matters.
STAGES = [
    ("初审", Role.INFORMATION_OFFICER),
    ("复审", Role.DEPARTMENT_HEAD),
    ("终审", Role.PUBLICITY_LEADER),
]
MAJOR_STAGE = ("审定", Role.PRINCIPAL_LEADER)
# Roles that serve the whole organisation even when a department is named; publishers serve the department they
# are named for, or every department when none is.
ORGANISATION_ROLES = {Role.PUBLICITY_LEADER, Role.PRINCIPAL_LEADER, Role.AUDITOR}
EDITABLE = {"draft", "returned"}
# The drafter may change a piece in these states too: the change restarts its review.
CHANGEABLE = EDITABLE | {"in_review", "approved"}
WITHDRAWABLE = {"draft", "in_review", "returned", "approved"}
PUBLISHABLE = {"approved", "published"}


@dataclass(frozen=True)
class Persona:
    name: str
    roles: tuple = ()  # (role, department code or None)
    superuser: bool = False
    active: bool = True
    anonymous: bool = False
    note: str = ""

    def has(self, role, department=None) -> bool:
        """Whether the persona holds `role` serving `department` (organisation-wide roles serve every one)."""
        return any(r == role and (d is None or d == department or r in ORGANISATION_ROLES) for r, d in self.roles)

    @property
    def logged_in(self) -> bool:
        return not self.anonymous and self.active

    @property
    def audits(self) -> bool:
        return self.superuser or self.has(Role.AUDITOR)

    @property
    def keeps_register(self) -> bool:
        return self.audits or any(r == Role.PUBLISHER for r, _d in self.roles)

    @property
    def drafts(self) -> bool:
        return any(r == Role.DRAFTER for r, _d in self.roles)


# The demo clinic's people exactly as seed_demo makes them, then the personas the demo lacks.
PERSONAS = [Persona(username, ((role, department),)) for username, _name, role, department in seed_demo.PEOPLE]
PERSONAS += [
    Persona("admin", superuser=True, note="superuser, no role"),
    Persona("colleague", ((Role.DRAFTER, D1), (Role.INFORMATION_OFFICER, D1)), note="drafts and does 初审 in dept 1"),
    Persona("dual", ((Role.INFORMATION_OFFICER, D1), (Role.DEPARTMENT_HEAD, D1)), note="初审 and 复审 in dept 1"),
    Persona(
        "deactivated",
        ((Role.INFORMATION_OFFICER, D1),),
        active=False,
        note="a copy of officer: logged in, then deactivated",
    ),
    Persona("anonymous", anonymous=True),
]
BY_NAME = {p.name: p for p in PERSONAS}
DEMO_ROLES = {"drafter", "officer", "head", "leader", "principal", "publisher", "auditor", "admin"}
OTHER_DEPARTMENT = {"drafter2", "officer2", "head2"}


@dataclass(frozen=True)
class PieceSpec:
    key: str
    department: str
    drafter: str
    steps: tuple = ()  # "submit", "withdraw", or (action, persona) with action approve/return/reject/publish
    major: bool = False


PIECES = [
    PieceSpec("d1 draft", D1, "drafter"),
    PieceSpec("d1 draft (colleague's)", D1, "colleague"),
    PieceSpec("d1 初审", D1, "drafter", ("submit",)),
    PieceSpec("d1 初审 (colleague's)", D1, "colleague", ("submit",)),
    PieceSpec("d1 复审", D1, "drafter", ("submit", ("approve", "officer"))),
    PieceSpec("d1 复审 (初审 by dual)", D1, "drafter", ("submit", ("approve", "dual"))),
    PieceSpec("d1 终审", D1, "drafter", ("submit", ("approve", "officer"), ("approve", "head"))),
    PieceSpec(
        "d1 审定 (major)",
        D1,
        "drafter",
        ("submit", ("approve", "officer"), ("approve", "head"), ("approve", "leader")),
        major=True,
    ),
    PieceSpec("d1 returned at 复审", D1, "drafter", ("submit", ("approve", "officer"), ("return", "head"))),
    PieceSpec("d1 初审 round 2", D1, "drafter", ("submit", ("approve", "officer"), ("return", "head"), "submit")),
    PieceSpec(
        "d1 approved", D1, "drafter", ("submit", ("approve", "officer"), ("approve", "head"), ("approve", "leader"))
    ),
    PieceSpec(
        "d1 published",
        D1,
        "drafter",
        ("submit", ("approve", "officer"), ("approve", "head"), ("approve", "leader"), ("publish", "publisher")),
    ),
    PieceSpec("d1 rejected at 复审", D1, "drafter", ("submit", ("approve", "officer"), ("reject", "head"))),
    PieceSpec("d1 withdrawn at 初审", D1, "drafter", ("submit", "withdraw")),
    PieceSpec("d2 draft", D2, "drafter2"),
    PieceSpec("d2 初审", D2, "drafter2", ("submit",)),
    PieceSpec(
        "d2 published",
        D2,
        "drafter2",
        ("submit", ("approve", "officer2"), ("approve", "head2"), ("approve", "leader"), ("publish", "publisher")),
    ),
]


@dataclass
class Facts:
    """Where a piece stands, worked out from its steps by the rule (not read from the application)."""

    spec: PieceSpec
    state: str = "draft"
    stage: int | None = None  # index into the piece's stages while in review
    stages: list = field(default_factory=list)
    reached: set = field(default_factory=set)  # roles whose stage the piece has been at; "publisher" once approved
    acted: dict = field(default_factory=lambda: defaultdict(set))  # persona → stage indexes acted at

    @property
    def current_role(self):
        return self.stages[self.stage][1] if self.stage is not None else None

    @property
    def current_name(self):
        return self.stages[self.stage][0] if self.stage is not None else None


def simulate(spec: PieceSpec) -> Facts:
    facts = Facts(spec, stages=STAGES + ([MAJOR_STAGE] if spec.major else []))
    for step in spec.steps:
        action, who = (step, spec.drafter) if isinstance(step, str) else step
        if action == "submit":
            assert facts.state in EDITABLE
            facts.state, facts.stage = "in_review", 0
        elif action == "withdraw":
            assert facts.state in WITHDRAWABLE
            facts.state, facts.stage = "withdrawn", None
        elif action == "publish":
            assert facts.state in PUBLISHABLE
            facts.state = "published"
        else:
            assert facts.state == "in_review"
            facts.acted[who].add(facts.stage)
            if action == "approve" and facts.stage + 1 < len(facts.stages):
                facts.stage += 1
            else:
                facts.state = {"approve": "approved", "return": "returned", "reject": "rejected"}[action]
                facts.stage = None
        if facts.stage is not None:
            facts.reached.add(facts.current_role)
        if facts.state == "approved":
            facts.reached.add("publisher")
    return facts


FACTS = {spec.key: simulate(spec) for spec in PIECES}


def may_see(p: Persona, f: Facts) -> bool:
    """Rule 9: superusers and auditors everything; drafters their department's pieces; reviewers what has reached
    their stage in the departments they serve; publishers what has been approved. Anyone else: the piece does not
    exist for them.

    "Reached" is read as: the piece has been in review at that stage, in any round. So a reviewer keeps seeing a
    piece they returned or rejected, one withdrawn while waiting for them, and one resubmitted that has not come
    back to them yet.
    """
    dept = f.spec.department
    if p.superuser or p.has(Role.AUDITOR) or p.has(Role.DRAFTER, dept):
        return True
    reviewer = any(p.has(role, dept) and role in f.reached for _name, role in f.stages)
    # The department's head sees its pieces in review at every stage (to reassign one).
    head = f.state == "in_review" and p.has(Role.DEPARTMENT_HEAD, dept)
    return reviewer or head or (p.has(Role.PUBLISHER, dept) and "publisher" in f.reached)


def may_decide(p: Persona, f: Facts) -> bool:
    """Rules 3 and 4: the current stage's role holder, not the drafter, who has acted at no other stage."""
    return (
        f.state == "in_review"
        and p.has(f.current_role, f.spec.department)
        and p.name != f.spec.drafter
        and not (f.acted.get(p.name, set()) - {f.stage})
    )


# Verdicts, turned into status codes per surface by expected().
LOGIN, HIDDEN, DENIED, CONFLICT, OK = "login", "hidden", "denied", "conflict", "ok"


def gate(p: Persona, f: Facts | None = None):
    """The checks before any action: an active user, and one who may see the piece."""
    if not p.logged_in:
        return LOGIN
    if f is not None and not may_see(p, f):
        return HIDDEN
    return None


def see(p, f):
    return gate(p, f) or OK


def edit(p, f):
    # Changing the piece (the web's edit page, the API's PATCH): when first (a piece published, rejected or
    # withdrawn is a conflict, whoever tries), then who (only its drafter; in review or approved, the change
    # restarts its review).
    if verdict := gate(p, f):
        return verdict
    if f.state not in CHANGEABLE:
        return CONFLICT
    return OK if p.name == f.spec.drafter else DENIED


def submit(p, f):
    # State first (a second click on Submit is a conflict, whoever clicks), then who. Files go with a draft or a
    # returned piece only, the same way.
    if verdict := gate(p, f):
        return verdict
    if f.state not in EDITABLE:
        return CONFLICT
    return OK if p.name == f.spec.drafter else DENIED


def remove_attachment(p, f):
    # Like submit: an attachment of a submitted piece is a conflict; of a draft, only its drafter's to remove.
    return submit(p, f)


def decide(p, f):
    # A decision on a piece not in review is a late click (conflict) for everyone who may see it. In review, the
    # form names the stage review waiting now, so no one is late: the others may not decide it.
    if verdict := gate(p, f):
        return verdict
    if f.state != "in_review":
        return CONFLICT
    return OK if may_decide(p, f) else DENIED


def reassign_stage(p, f):
    if verdict := gate(p, f):
        return verdict
    if f.state != "in_review":
        return CONFLICT
    return OK if p.superuser or p.has(Role.DEPARTMENT_HEAD, f.spec.department) else DENIED


def release_stage(ok: str):
    # Nothing in the sample is claimed: releasing is for whoever may reassign, and changes nothing (not recorded).
    def expect(p, f):
        verdict = reassign_stage(p, f)
        return f"{ok} nothing done" if verdict == OK else verdict

    return expect


def late_decision(p, f):
    # A form made for a stage that has been decided since (by someone else, or the piece has moved on): a late
    # click, for everyone who may see the piece, whoever they are.
    return gate(p, f) or CONFLICT


def publish(p, f):
    # Rule 6: only an approved (or already published, for another channel) piece, only by a publisher.
    if verdict := gate(p, f):
        return verdict
    if f.state not in PUBLISHABLE:
        return CONFLICT
    return OK if p.has(Role.PUBLISHER, f.spec.department) else DENIED


def withdraw(p, f):
    # When first (a finished piece: conflict, whoever tries); then who: only the drafter (403 for anyone else).
    if verdict := gate(p, f):
        return verdict
    if f.state not in WITHDRAWABLE:
        return CONFLICT
    return OK if p.name == f.spec.drafter else DENIED


def copy_rejected(p, f):
    # Starting a new draft from a piece: only from a rejected one (conflict otherwise), only by its drafter.
    if verdict := gate(p, f):
        return verdict
    if f.state != "rejected":
        return CONFLICT
    return OK if p.name == f.spec.drafter else DENIED


def foreign_attachment(p, f):
    # Another piece's attachment under this piece's URL: no such file here, even for those who see both.
    return gate(p, f) or HIDDEN


def logged_in_only(p, _t=None):
    return gate(p) or OK


def method_not_allowed(p, _t=None):
    # The method check runs after the login check and before any look at the piece.
    return gate(p) or "405"


def public(_p, _t=None):
    return OK


def nowhere_logged_in(p, _t=None):
    # A row that does not exist: 404 once logged in.
    return gate(p) or HIDDEN


def nowhere(_p, _t=None):
    # An address that names nothing: 404 for everyone, logged in or not, before any look at who asks.
    return HIDDEN


def auditors(p, _t=None):
    return gate(p) or (OK if p.audits else DENIED)


def register_keepers(p, fmt=None):
    if verdict := gate(p):
        return verdict
    if not p.keeps_register:
        return DENIED
    return HIDDEN if fmt == "txt" else OK


def leaders(p, _t=None):
    # Statistics: the leaders, the auditors and the superusers.
    if verdict := gate(p):
        return verdict
    return OK if p.audits or p.has(Role.PUBLICITY_LEADER) or p.has(Role.PRINCIPAL_LEADER) else DENIED


def opens_reading_reviews(p, _t=None):
    # Opening a post-publication review: the leaders and the superusers (an empty form is an input to correct).
    if verdict := gate(p):
        return verdict
    return "400" if p.superuser or p.has(Role.PUBLICITY_LEADER) or p.has(Role.PRINCIPAL_LEADER) else DENIED


def edits_bulletins(ok):
    # Making an issue of the bulletin: its editors draft pieces.
    def verdict(p, _t=None):
        return gate(p) or (ok if p.drafts else DENIED)

    return verdict


def reviewer_roles(p, _t=None):
    # Lending a role: the page is everyone's (what was lent to them); an empty form is an input to correct.
    return gate(p) or "400"


def export_job(p, owner):
    # An audit export belongs to the auditor who asked for it; superusers may fetch anyone's.
    if verdict := gate(p):
        return verdict
    if not p.audits:
        return DENIED
    if owner is None:
        return HIDDEN
    return OK if p.name == owner or p.superuser else DENIED


def create(department):
    def verdict(p, _t=None):
        if v := gate(p):
            return v
        return OK if p.has(Role.DRAFTER, department) else DENIED

    return verdict


def create_web(department):
    def verdict(p, _t=None):
        if v := gate(p):
            return v
        if p.has(Role.DRAFTER, department):
            return OK
        # A drafter of another department is shown the form again: the department is not one it offers.
        return "200 nothing done" if p.drafts else DENIED

    return verdict


def home(p, _t=None):
    # Home sends people to their queue when something waits for them there, otherwise to the pieces list.
    return gate(p) or "302 " + reverse("review:queue" if awaiting_keys(p) else "review:documents")


def visible_keys(p, _t=None):
    return sorted(k for k, f in FACTS.items() if may_see(p, f))


def awaiting_keys(p, _t=None):
    return sorted(k for k, f in FACTS.items() if may_decide(p, f))


# ---------------------------------------------------------------------------------------------------------
# Every URL pattern: its kind, what to fill its arguments with, the methods to try and who may.


@dataclass(frozen=True)
class Probe:
    method: str
    expect: Callable  # (persona, target value) → verdict
    targets: str = "none"  # what fills the URL's arguments: see targets()
    ok: str = "200"  # what success looks like
    logs: bool = False  # a refusal must be written to the audit log
    body: Callable | None = None  # (world, target value) → request data
    query: str = ""
    lists: Callable | None = None  # (persona) → piece keys the response must list, exactly
    redirects: bool = False  # where a redirect goes is part of the outcome
    label: str = ""

    @property
    def acts(self) -> bool:
        """Whether success must show as an action in the audit log (a change, not a page or a form)."""
        return self.logs and self.method != "GET"


@dataclass(frozen=True)
class Route:
    kind: str
    probes: tuple
    api: bool = False


def decision_body(api: bool, action: str, *, late: bool = False):
    """The decision form's data: the stage review it was made for (the one waiting now, or with `late` one
    decided since the form was shown), the opinion or reason, and for an approval a "yes" to every question of
    that stage's checklist and the password to sign it."""

    def body(w, facts):
        key = facts.spec.key
        reviews = w.decided_review_ids if late else w.review_ids
        data = {"review": reviews[key]} if key in reviews else {}
        if action == "approve":
            questions = w.questions.get(reviews.get(key), [])
            if api:
                checklist = {"checklist": [{"item": item, "ok": True, "note": ""} for item in questions]}
            else:
                checklist = {f"item_{item}": "yes" for item in questions}
            return data | checklist | {"opinion": "同意。", "password": PASSWORD}
        return data | {("reason" if api else "opinion"): "请补充活动时间。"}

    return body


# The pieces went out on their website when published; WeChat, approved for each of them, is still to go.
def web_publish_body(w, _t):
    return {"channel": "wechat", "url": "https://example.org/n/1", "published_at": w.now}


def web_edit_body(w, _t):
    return {
        "title": "改过的标题", "body": BODY, "kind": "news", "channels": ["website", "wechat"], "note": "改了标题。"
    }  # fmt: skip


# Who in the demo clinic may take over a stage held by each role, by department.
TAKES_OVER = {
    (Role.INFORMATION_OFFICER, D1): "officer", (Role.INFORMATION_OFFICER, D2): "officer2",
    (Role.DEPARTMENT_HEAD, D1): "head", (Role.DEPARTMENT_HEAD, D2): "head2",
    (Role.PUBLICITY_LEADER, D1): "leader", (Role.PUBLICITY_LEADER, D2): "leader",
    (Role.PRINCIPAL_LEADER, D1): "principal", (Role.PRINCIPAL_LEADER, D2): "principal",
}  # fmt: skip


def reassign_body(w, f):
    # Someone who may act at the piece's stage waiting now (for a piece not in review, anyone: refused before).
    who = TAKES_OVER.get((f.current_role, f.spec.department), "officer") if f is not None else "officer"
    return {"to": w.users[who].pk}


def correction_body(w, _t):
    return {"title": "校对后的标题", "body": BODY, "note": "改了标题。"}


def web_create_body(department):
    return lambda w, _t: {
        "title": "新稿件", "body": BODY, "department": w.departments[department].pk, "kind": "news",
        "channels": ["website"],
    }  # fmt: skip


def api_create_body(department):
    return lambda w, _t: {
        "title": "新稿件", "body": BODY, "department": w.departments[department].pk, "channels": ["website"]
    }  # fmt: skip


def upload_body(w, _t):
    return {"file": SimpleUploadedFile("附件.pdf", PDF)}


DISMISSAL = {"rule": "misspelling", "excerpt": "再接再励", "reason": "原文引用，不改。"}


def see_piece(*extra, api=False):
    return Route("see-piece", (Probe("GET", see, "piece"), *extra), api=api)


def act(expect, body=None, *, api=False, late: Probe | None = None):
    """A POST-only action on a piece, and GET on it (405 for everyone logged in, even where the piece is hidden)."""
    return Route(
        "act-on-piece",
        (
            Probe("POST", expect, "piece", ok="200" if api else "302", logs=True, body=body),
            *([late] if late else []),
            Probe("GET", method_not_allowed, "sample pieces"),
        ),
        api=api,
    )


def decision(action: str, *, api=False) -> Route:
    """A decision on a piece, with the form made for the stage waiting now, or for one decided since (late)."""
    late = Probe("POST", late_decision, "decided pieces", logs=True, body=decision_body(api, action, late=True))
    return act(decide, decision_body(api, action), api=api, late=late)


ROUTES = {
    # The web pages.
    "review:home": Route("list", (Probe("GET", home, redirects=True),)),
    "review:queue": Route("list", (Probe("GET", logged_in_only, lists=awaiting_keys),)),
    "review:documents": Route("list", (Probe("GET", logged_in_only, lists=visible_keys),)),
    # The publisher's queue: anyone logged in sees what they may publish (nothing, for most); a POST naming no
    # piece they may publish is an input to correct.
    "review:publish_queue": Route(
        "list", (Probe("GET", logged_in_only), Probe("POST", lambda p, _t: gate(p) or "400"))
    ),
    "review:document_create": Route(
        "create",
        (
            Probe("GET", lambda p, _t: gate(p) or (OK if p.drafts else DENIED), logs=True),
            Probe("POST", create_web(D1), ok="302", logs=True, body=web_create_body(D1), label="dept 1"),
            Probe("POST", create_web(D2), ok="302", logs=True, body=web_create_body(D2), label="dept 2"),
        ),
    ),
    "review:document": see_piece(),
    "review:document_edit": Route(
        "act-on-piece",
        (
            Probe("GET", edit, "piece", logs=True),
            Probe("POST", edit, "piece", ok="302", logs=True, body=web_edit_body),
        ),
    ),
    "review:document_submit": act(submit, lambda w, _t: {"note": "已按意见修改。"}),
    "review:document_approve": decision("approve"),
    "review:document_return": decision("return"),
    "review:document_reject": decision("reject"),
    "review:document_publish": act(publish, web_publish_body),
    "review:document_withdraw": act(withdraw, lambda w, _t: {"reason": "活动取消。"}),
    "review:document_copy": act(copy_rejected),
    "review:attachment_add": act(submit, upload_body),
    # Claiming the stage waiting now: like a decision, whoever may act there; releasing it, whoever claimed it
    # (nobody in the sample) or whoever may reassign; reassigning, the department's head (or a superuser).
    "review:document_claim": act(decide),
    "review:document_release": act(release_stage("302")),
    "review:document_reassign": act(reassign_stage, reassign_body),
    # Correcting the text (校对): like a decision, the reviewer at the stage waiting now, and no one else.
    "review:document_correct": Route(
        "act-on-piece",
        (
            Probe("GET", decide, "piece", logs=True),
            Probe("POST", decide, "piece", ok="302", logs=True, body=correction_body),
        ),
    ),
    # Dismissing a pre-check finding: like a decision, the reviewer at the stage waiting now, and no one else.
    "review:document_dismiss": act(decide, lambda w, _t: DISMISSAL),
    "review:attachment": Route(
        "download",
        (Probe("GET", see, "own attachment"), Probe("GET", foreign_attachment, "foreign attachment")),
    ),
    "review:attachment_remove": Route(
        "act-on-piece",
        (
            Probe("POST", remove_attachment, "own attachment", ok="302", logs=True),
            Probe("POST", foreign_attachment, "foreign attachment", logs=True),
            Probe("GET", method_not_allowed, "sample attachments"),
        ),
    ),
    "review:signoff_sheet": Route("download", (Probe("GET", see, "piece"),)),
    # Anyone may check a printed sheet: no login; GET only, for everyone. A code no sheet has: 404, for everyone.
    "review:verify_lookup": Route("public", (Probe("GET", public), Probe("POST", lambda _p, _t: "405"))),
    "review:verify": Route("public", (Probe("GET", public, "code"), Probe("GET", nowhere, "forged code"))),
    # Everyone's own notifications and settings: only their own (tests/test_notifications.py), for anyone logged in.
    "review:notifications": Route("self", (Probe("GET", logged_in_only),)),
    "review:notification_read": Route(
        "self", (Probe("POST", logged_in_only, ok="302"), Probe("GET", method_not_allowed))
    ),
    "review:notification_settings": Route(
        "self",
        (
            Probe("GET", logged_in_only),
            Probe("POST", logged_in_only, ok="302", body=lambda w, _t: {"language": "zh-hans"}),
        ),
    ),
    "review:register": Route("register", (Probe("GET", register_keepers),)),
    "review:register_download": Route("register", (Probe("GET", register_keepers, "fmt"),)),
    "review:audit": Route("audit", (Probe("GET", auditors),)),
    # What leaders use: statistics (and their downloads), the bulletin, post-publication review. Rows that name
    # an issue or a review are tried with one that does not exist: 404 for everyone logged in (the pages are
    # tested with real ones in tests/test_bulletins.py and tests/test_reading_reviews.py).
    "review:statistics": Route(
        "leaders",
        (Probe("GET", leaders), Probe("GET", leaders, query="format=xlsx"), Probe("POST", method_not_allowed)),
    ),
    "review:bulletins": Route("leaders", (Probe("GET", logged_in_only), Probe("POST", method_not_allowed))),
    "review:bulletin_create": Route(
        "leaders", (Probe("GET", edits_bulletins(OK)), Probe("POST", edits_bulletins("400")))
    ),
    "review:bulletin_edit": Route("leaders", (Probe("GET", nowhere_logged_in, "no such row"),)),
    "review:bulletin_pdf": Route("leaders", (Probe("GET", nowhere_logged_in, "no such row"),)),
    "review:bulletin_html": Route("leaders", (Probe("GET", nowhere_logged_in, "no such row"),)),
    "review:reading_reviews": Route(
        "leaders", (Probe("GET", logged_in_only), Probe("POST", opens_reading_reviews, logs=True))
    ),
    "review:reading_review": Route("leaders", (Probe("GET", nowhere_logged_in, "no such row"),)),
    "review:reading_finding": Route(
        "leaders", (Probe("POST", nowhere_logged_in, "no such row"), Probe("GET", method_not_allowed, "no such row"))
    ),
    "review:reading_review_close": Route(
        "leaders", (Probe("POST", nowhere_logged_in, "no such row"), Probe("GET", method_not_allowed, "no such row"))
    ),
    "review:reading_review_pdf": Route("leaders", (Probe("GET", nowhere_logged_in, "no such row"),)),
    # Delegations: everyone's own page (lending needs a reviewer's role: tests/test_delegation.py).
    "delegations": Route("self", (Probe("GET", logged_in_only), Probe("POST", reviewer_roles))),
    "delegation_revoke": Route(
        "self", (Probe("POST", nowhere_logged_in, "no such row"), Probe("GET", method_not_allowed, "no such row"))
    ),
    # The chain's panel (polled by the audit page), and starting a full verification in the background.
    "review:audit_verification": Route("audit", (Probe("GET", auditors),)),
    "review:audit_verify": Route("audit", (Probe("POST", auditors, ok="302"), Probe("GET", method_not_allowed))),
    "review:audit_export_create": Route(
        "audit",
        (
            Probe("POST", auditors, body=lambda w, _t: {"format": "csv"}),
            Probe("GET", method_not_allowed),
        ),
    ),
    "review:audit_export": Route("audit", (Probe("GET", export_job, "job"),)),
    "review:audit_export_download": Route("audit", (Probe("GET", export_job, "job"),)),
    "review:audit_export_manifest": Route("audit", (Probe("GET", export_job, "job"),)),
    # The REST API.
    "api:me": Route("self", (Probe("GET", logged_in_only),), api=True),
    "api:notifications": Route("self", (Probe("GET", logged_in_only),), api=True),
    "api:notifications_read": Route("self", (Probe("POST", logged_in_only, body=lambda w, _t: {}),), api=True),
    "api:documents": Route(
        "list",
        (
            Probe("GET", logged_in_only, lists=visible_keys),
            Probe("POST", create(D1), ok="201", logs=True, body=api_create_body(D1), label="dept 1"),
            Probe("POST", create(D2), ok="201", logs=True, body=api_create_body(D2), label="dept 2"),
        ),
        api=True,
    ),
    "api:document": see_piece(
        Probe("PATCH", edit, "piece", logs=True, body=lambda w, _t: {"title": "改过的标题", "note": "改了标题。"}),
        Probe("DELETE", method_not_allowed, "sample pieces"),
        api=True,
    ),
    "api:document_submit": act(submit, lambda w, _t: {"note": "已按意见修改。"}, api=True),
    "api:document_approve": decision("approve", api=True),
    "api:document_return": decision("return", api=True),
    "api:document_reject": decision("reject", api=True),
    "api:document_publish": act(publish, lambda w, _t: {"channel": "wechat", "url": "https://example.org/n"}, api=True),
    "api:document_withdraw": act(withdraw, lambda w, _t: {"reason": "活动取消。"}, api=True),
    "api:document_revisions": see_piece(api=True),
    "api:document_findings": see_piece(api=True),
    "api:document_dismiss": act(decide, lambda w, _t: DISMISSAL, api=True),
    "api:document_correct": act(decide, correction_body, api=True),
    "api:document_claim": act(decide, api=True),
    "api:document_release": act(release_stage("200"), api=True),
    "api:document_reassign": act(reassign_stage, reassign_body, api=True),
    # Every piece has its first revision: comparing it with itself is a diff whoever may see the piece may ask for.
    "api:document_diff": Route("see-piece", (Probe("GET", see, "piece", query="from=1&to=1"),), api=True),
    "api:document_audit": see_piece(api=True),
    "api:document_signoff_sheet": Route("download", (Probe("GET", see, "piece"),), api=True),
    "api:queue": Route("list", (Probe("GET", logged_in_only, lists=awaiting_keys),), api=True),
    # The publishers' queue by channel: anyone logged in sees what they may publish (nothing, for most).
    "api:publish_queue": Route("list", (Probe("GET", logged_in_only),), api=True),
    # The categories of errors a proofreader counts, with their weights: reference data for everyone logged in.
    "api:error_categories": Route("reference", (Probe("GET", logged_in_only),), api=True),
    "api:audit": Route("audit", (Probe("GET", auditors),), api=True),
    "api:audit_export": Route("audit", (Probe("GET", auditors, query="format=csv"),), api=True),
    "api:audit_export_manifest": Route("audit", (Probe("GET", export_job, "job"),), api=True),
    # Anything else under /api/ (a mistyped path, a non-numeric id): a JSON 404 for everyone, credentials or not.
    "api:not_found": Route(
        "nowhere", (Probe("GET", nowhere, "stray paths"), Probe("POST", nowhere, "stray paths")), api=True
    ),
}
# Left out of the matrix, and why. Login, logout and the token exchange are tested at the end of this module.
EXCLUDED_NAMES = {
    "login": "login page (tested below)",
    "logout": "logout (tested below)",
    "api:token": "the API's login (tested below)",
    "api:schema": "API schema",
    "api:docs": "API documentation page",
    "api:docs_script": "the API documentation page's script (Redoc)",
    "favicon": "a redirect to the site's icon",
}
EXCLUDED_PREFIXES = ("admin/", "i18n/", "static/")


def walk(patterns, prefix="", namespace=""):
    """Yield (qualified name, route) for every URL pattern the resolver knows."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else route), route


def routes_in_play() -> dict[str, str]:
    return {
        name: route
        for name, route in walk(get_resolver().url_patterns)
        if not route.startswith(EXCLUDED_PREFIXES) and name not in EXCLUDED_NAMES
    }


def test_every_url_pattern_has_a_row_in_the_matrix():
    found = routes_in_play()
    unclassified = sorted(f"{name}  ({route})" for name, route in found.items() if name not in ROUTES)
    stale = sorted(name for name in ROUTES if name not in found)
    assert not unclassified and not stale, (
        "The authorization matrix must classify every URL (tests/test_authorization_matrix.py, ROUTES).\n"
        + "".join(f"  unclassified URL: {line}\n" for line in unclassified)
        + "".join(f"  no longer a URL: {name}\n" for name in stale)
    )


def test_the_personas_are_the_demo_clinics():
    demo = {username: ((role, department),) for username, _name, role, department in seed_demo.PEOPLE}
    assert {name: BY_NAME[name].roles for name in demo} == demo
    assert set(demo) | {"admin"} == DEMO_ROLES | OTHER_DEPARTMENT


# ---------------------------------------------------------------------------------------------------------
# The world: built once for the module, rolled back at its end.


@dataclass
class World:
    media: object
    departments: dict
    users: dict
    clients: dict
    tokens: dict
    pieces: dict  # key → Document
    attachments: dict  # key → Attachment id
    review_ids: dict  # key → id of the stage review waiting (pieces in review)
    decided_review_ids: dict  # key → id of the stage review decided last (pieces with a decision)
    questions: dict  # stage review id → ids of the questions of its stage's checklist
    codes: dict  # key → verification code of the sign-off sheet as printed now
    jobs: dict  # owner persona → ExportJob id
    now: str


def questions(document: Document) -> list[int]:
    """Return the ids of the questions of the checklist at the piece's current stage, as it stands now."""
    stage = Document.objects.get(pk=document.pk).current_stage
    return list(stage.checklist.values_list("pk", flat=True))


def build_piece(spec: PieceSpec, users, departments) -> Document:
    drafter = users[spec.drafter]
    document = services.create_document(
        drafter=drafter,
        title=f"{spec.key} · 通知",
        body=BODY,
        department=departments[spec.department],
        channels=["website", "wechat"],
        kind="news",
        is_major=spec.major,
    )
    services.attach_file(
        document=document,
        user=drafter,
        upload=SimpleUploadedFile(f"{spec.key}.pdf", PDF),
        extension=".pdf",
        content_type="application/pdf",
    )
    for step in spec.steps:
        action, who = (step, spec.drafter) if isinstance(step, str) else step
        user = users[who]
        if action == "submit":
            services.submit_document(document=document, user=user, note="已按意见修改。")
        elif action == "withdraw":
            services.withdraw(document=document, user=user, reason="活动取消。")
        elif action == "publish":
            now = timezone.now()
            services.publish(
                document=document, user=user, channel="website", url="https://example.org/n", published_at=now
            )
        elif action == "approve":
            checklist = [{"item": item, "ok": True} for item in questions(document)]
            services.approve(document=document, user=user, password=PASSWORD, opinion="同意。", checklist=checklist)
        elif action == "return":
            services.return_for_changes(document=document, user=user, reason="请补充活动时间。")
        else:
            services.reject(document=document, user=user, reason="不宜发布。")
    return Document.objects.select_related("current_stage").get(pk=document.pk)


def build_world(media) -> World:
    departments = {
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in seed_demo.DEPARTMENTS
    }
    users, clients, tokens = {}, {}, {}
    for persona in PERSONAS:
        if persona.anonymous:
            clients[persona.name] = Client()
            continue
        user = User.objects.create(
            username=persona.name, display_name=persona.name, is_superuser=persona.superuser, is_staff=persona.superuser
        )
        user.set_password(PASSWORD)
        user.save()
        for role, department in persona.roles:
            add_membership(user=user, role=role, department=department and departments[department], by=None)
        users[persona.name] = user
        tokens[persona.name] = issue_token(user)
        client = Client()
        client.force_login(user)
        clients[persona.name] = client
    pieces = {spec.key: build_piece(spec, users, departments) for spec in PIECES}
    for name, persona in BY_NAME.items():
        if not persona.active:
            users[name].is_active = False
            users[name].save(update_fields=["is_active"])
    for client in clients.values():
        client.get(reverse("review:verify_lookup"))  # the session's last-seen mark, kept for the whole module
    jobs = {}
    for owner in ("auditor", "admin"):
        job = open_job(ExportJob.objects.create(requested_by=users[owner], format=ExportJob.Format.XLSX, filters={}))
        run_job(job, events_matching(job.filters))
        jobs[owner] = job.pk
    return World(
        media=media,
        departments=departments,
        users=users,
        clients=clients,
        tokens=tokens,
        pieces=pieces,
        attachments={key: Attachment.objects.get(document=doc).pk for key, doc in pieces.items()},
        review_ids={
            key: doc.stage_reviews.get(round=doc.round, stage=doc.current_stage_id).pk
            for key, doc in pieces.items()
            if doc.state == Document.State.IN_REVIEW
        },
        decided_review_ids={key: signed[-1].pk for key, doc in pieces.items() if (signed := signatures_of(doc))},
        questions={
            review.pk: [item.pk for item in review.stage.checklist.all()]
            for review in StageReview.objects.filter(document__in=pieces.values()).prefetch_related("stage__checklist")
        },
        codes={key: verification_code(doc, signatures_of(doc)) for key, doc in pieces.items()},
        jobs=jobs,
        now=timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    )


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("authz-media")
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER, MEDIA_ROOT=media, TASKS=IMMEDIATE_TASKS),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world(media)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _in_world(_media_in_tmp, settings, world, db, monkeypatch):
    settings.MEDIA_ROOT = world.media  # where the world's attachments and export files are
    monkeypatch.setattr("review.services.signoff_sheet_pdf", lambda document, base_url=None: b"%PDF-1.4 stub")
    # The session's last-seen mark was set when the world was built; refreshing it is no part of this test.
    monkeypatch.setattr(SessionTimeoutMiddleware, "RESOLUTION", 24 * 3600)
    # Thousands of deliberate 403s and 404s: their log lines would bury the table of mismatches.
    monkeypatch.setattr(logging.getLogger("django.request"), "disabled", True)
    cache.clear()


def test_the_pieces_stand_where_the_rule_says(world):
    """The world is built through the services; check it matches what the tables say before trusting them."""
    got = {
        key: (doc.state, doc.current_stage.role if doc.current_stage else None, doc.department.code)
        for key, doc in world.pieces.items()
    }
    want = {key: (f.state, f.current_role, f.spec.department) for key, f in FACTS.items()}
    assert got == want
    assert {f.state for f in FACTS.values()} == set(Document.State.values)
    assert {f.current_name for f in FACTS.values()} >= {"初审", "复审", "终审", "审定"}


# ---------------------------------------------------------------------------------------------------------
# Running the matrix.

LOGIN_PATH = "/accounts/login/"
SAMPLE = ("d1 draft", "d2 初审")
FOREIGN_SAMPLE = ("d1 审定 (major)", "d1 published", "d2 published")


def expected(verdict: str, probe: Probe, api: bool) -> str:
    if verdict == LOGIN:
        return "401" if api else "302 login"
    if verdict == HIDDEN:
        return "404"
    if verdict == DENIED:
        return "403 logged" if probe.logs else "403"
    if verdict == CONFLICT:
        return "409 logged" if api else "302 refused"
    if verdict == OK:
        return probe.ok + (" done" if probe.acts else "")
    return verdict


def shown(key: str) -> str:
    """Name a piece for the table of mismatches: its key and the state it is in."""
    return f"{key} [{FACTS[key].state}]"


def targets(world: World, probe: Probe) -> list[tuple[str, dict, object]]:
    """Return (label, URL kwargs, value for the expectation) for each target of a probe."""
    kind = probe.targets
    if kind == "none":
        return [("", {}, None)]
    # A method the URL does not take is refused before the piece is looked at: two pieces show it, one in
    # each department (so hidden from some personas, visible to others).
    sample = {key: world.pieces[key] for key in SAMPLE} if kind.startswith("sample") else world.pieces
    if kind in ("piece", "sample pieces"):
        return [(shown(key), {"pk": doc.pk}, FACTS[key]) for key, doc in sample.items()]
    if kind == "decided pieces":
        return [
            (shown(key), {"pk": doc.pk}, FACTS[key]) for key, doc in sample.items() if key in world.decided_review_ids
        ]
    if kind in ("own attachment", "sample attachments"):
        return [
            (shown(key), {"pk": doc.pk, "attachment_id": world.attachments[key]}, FACTS[key])
            for key, doc in sample.items()
        ]
    if kind == "foreign attachment":
        # Another piece's file under a piece's URL; the pieces chosen so that every persona sees one of them.
        return [
            (
                f"{shown(key)} + file of d1 draft",
                {"pk": world.pieces[key].pk, "attachment_id": world.attachments["d1 draft"]},
                FACTS[key],
            )
            for key in FOREIGN_SAMPLE
        ]
    if kind == "code":
        return [(key, {"code": world.codes[key]}, None) for key in world.pieces]
    if kind == "forged code":
        # The piece's own sheet token with a digest it never had, and a code of the right shape no piece has.
        return [(f"{key} forged", {"code": f"{world.pieces[key].sheet_token}-0123456789"}, None) for key in SAMPLE] + [
            ("no such sheet", {"code": f"{'0' * 20}-0123456789"}, None)
        ]
    if kind == "stray paths":
        pk = world.pieces["d1 draft"].pk
        paths = [reverse("api:not_found"), "/api/v1/nothing/", "/api/v1/documents/abc/", f"/api/v1/documents/{pk}/x/"]
        return [(path, {"path": path}, None) for path in paths]
    if kind == "job":
        missing = max(world.jobs.values()) + 1000
        return [(f"{owner}'s export", {"pk": pk}, owner) for owner, pk in world.jobs.items()] + [
            ("no such export", {"pk": missing}, None)
        ]
    if kind == "no such row":
        return [("no such row", {"pk": 999_999}, None)]
    if kind == "fmt":
        return [(fmt, {"fmt": fmt}, fmt) for fmt in ("csv", "xlsx", "pdf", "txt")]
    raise AssertionError(kind)


def request(world: World, persona: Persona, probe: Probe, url: str, data, api: bool):
    client = world.clients[persona.name]
    headers = {}
    if api and persona.name in world.tokens:
        headers["Authorization"] = f"Token {world.tokens[persona.name]}"
    method = getattr(client, probe.method.lower())
    if api:
        if data is None:
            return method(url, headers=headers)
        return method(url, json.dumps(data, ensure_ascii=False), content_type="application/json", headers=headers)
    return method(url, data or {}, headers=headers) if probe.method == "POST" else method(url, headers=headers)


NOT_ACTIONS = {"refused", "downloaded", "login", "logout", "login_failed"}


def observe(response, probe: Probe, api: bool, events: list[str], world: World, title: str = "") -> str:
    """Describe the response the way expected() does: status, plus what the audit log says happened."""
    status, refused = response.status_code, "refused" in events
    if status == 302 and not api:
        location = response["Location"]
        if location.startswith(LOGIN_PATH):
            return "302 login"
        if refused:
            return "302 refused"
    got = str(status) + (" " + response["Location"] if probe.redirects else "")
    if probe.acts and status in (200, 201, 302):
        # Success is the action in the audit log, not only a status code.
        got += " done" if set(events) - NOT_ACTIONS else " nothing done"
    if status == 404 and title and title.encode() in response.content:
        got += " (showing the piece's title)"
    if status in (403, 409) and probe.logs:
        got += " logged" if refused else " (refusal not logged)"
    if api and status >= 400 and not response["Content-Type"].startswith("application/json"):
        got += " (not JSON)"
    if probe.lists and status == 200:
        if api:
            ids = [row["id"] for row in response.json()["results"]]
        else:
            ids = [doc.pk for doc in response.context["page"].object_list]
        names = {doc.pk: key for key, doc in world.pieces.items()}
        got += " " + listing(names.get(pk, f"#{pk}") for pk in ids)
    return got


def listing(keys) -> str:
    return "[" + ", ".join(sorted(keys)) + "]"


def describe(want: str, got: str) -> str:
    """Return 'expected … got …', naming only the differences when both are lists of pieces."""
    if want.startswith("200 [") and got.startswith("200 ["):
        wanted, listed = set(want[5:-1].split(", ")) - {""}, set(got[5:-1].split(", ")) - {""}
        return f"listed, though the rule hides them: {listing(listed - wanted)}; missing: {listing(wanted - listed)}"
    return f"expected {want:<14} got {got}"


def run(world: World, name: str, route: Route, probe: Probe) -> tuple[int, list[str]]:
    """Try the probe as every persona on every target; return the number of cases and the mismatches."""
    cases, mismatches = 0, []
    # Every case is rolled back, so the audit log's head stays where it is: what a request wrote lies beyond it.
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[0]
    for label, kwargs, value in targets(world, probe):
        url = kwargs["path"] if probe.targets == "stray paths" else reverse(name, kwargs=kwargs)
        url += f"?{probe.query}" if probe.query else ""
        for persona in PERSONAS:
            want = expected(probe.expect(persona, value), probe, route.api)
            if probe.lists and want == "200":
                want += " " + listing(probe.lists(persona))
            data = probe.body(world, value) if probe.body else None
            with transaction.atomic():
                response = request(world, persona, probe, url, data, route.api)
                if response.streaming:
                    # Read to the end: the test client then closes the response (and any file behind it). Closing
                    # it here instead would send request_finished, which closes PostgreSQL's connection mid-test.
                    b"".join(response.streaming_content)
                events = (
                    list(AuditEvent.objects.filter(sequence__gt=head).values_list("action", flat=True))
                    if probe.logs
                    else []
                )
                title = world.pieces[value.spec.key].title if isinstance(value, Facts) else ""
                got = observe(response, probe, route.api, events, world, title)
                transaction.set_rollback(True)
            world.clients[persona.name].cookies.pop("messages", None)
            cases += 1
            if got != want:
                mismatches.append(f"  {persona.name:<11} {probe.method:<6} {url:<28} {label:<36} {describe(want, got)}")
    return cases, mismatches


def probe_params():
    for name, route in ROUTES.items():
        for probe in route.probes:
            suffix = f" {probe.targets}" if probe.targets not in ("none", "piece") else ""
            suffix += f" {probe.label}" if probe.label else ""
            yield pytest.param(name, route, probe, id=f"{name} {probe.method}{suffix}")


@pytest.mark.parametrize(("name", "route", "probe"), list(probe_params()))
def test_matrix(world, name, route, probe):
    cases, mismatches = run(world, name, route, probe)
    if mismatches:
        pytest.fail(
            f"{len(mismatches)} of {cases} cases of {name} {probe.method} ({route.kind}) differ from the rule:\n"
            + f"  {'persona':<11} {'method':<6} {'url':<28} {'piece [state] or target':<36} outcome\n"
            + "\n".join(mismatches),
            pytrace=False,
        )


# ---------------------------------------------------------------------------------------------------------
# What the matrix leaves out or cannot see from status codes alone.


def comparable(response, *asked) -> tuple[int, bytes]:
    """Return a page's status and content with what differs on every page (CSP nonce, CSRF token) and what names
    the address or code asked for blanked."""
    volatile = rb'(nonce="|"csp-nonce" content="|name="csrfmiddlewaretoken" value=")[^"]*"'
    content = re.sub(volatile, rb"\1", response.content)
    for text in asked:
        content = content.replace(text.encode(), b"ASKED")
    return response.status_code, content


def test_a_hidden_piece_answers_exactly_like_a_missing_one(world):
    """No hint: the 404 for a piece that exists but is hidden is the 404 for a number no piece has."""
    hidden, missing = world.pieces["d2 draft"].pk, max(doc.pk for doc in world.pieces.values()) + 1000
    client, token = world.clients["drafter"], world.tokens["drafter"]

    def page(pk):
        url = reverse("review:document", args=[pk])
        return comparable(client.get(url), url)

    def api(pk):
        response = client.get(reverse("api:document", args=[pk]), headers={"Authorization": f"Token {token}"})
        return response.status_code, response.json()

    assert page(hidden) == page(missing)
    assert page(hidden)[0] == 404
    assert api(hidden) == api(missing)
    assert api(hidden)[0] == 404


def test_a_sheet_code_that_does_not_match_shows_nothing_of_the_piece(world):
    """The public check page names the piece only for a code the system issued (whoever holds the sheet): any
    other code gets the same 404, whether or not it carries a piece's sheet token."""
    document = world.pieces["d1 draft"]
    anonymous = Client()

    def check(code):
        url = reverse("review:verify", args=[code])
        return comparable(anonymous.get(url), url, code)

    forged = check(f"{document.sheet_token}-0123456789")
    unknown = check(f"{'0' * 20}-0123456789")
    genuine = anonymous.get(reverse("review:verify", args=[world.codes["d1 draft"]]))

    assert forged[0] == 404
    assert forged == unknown
    assert document.title.encode() not in forged[1]
    assert genuine.status_code == 200
    assert document.title in genuine.content.decode()


def test_a_deactivated_users_session_does_not_reach_the_api(world):
    # The matrix calls the API with tokens; a session (the browser's) is the API's other way in.
    response = world.clients["deactivated"].get(reverse("api:me"))

    assert response.status_code == 401


@pytest.mark.parametrize("name", ["officer", "admin", "deactivated"])
def test_login_and_logout(world, name):
    persona, client = BY_NAME[name], Client()
    login, documents = reverse("login"), reverse("review:documents")

    assert client.get(login).status_code == 200
    response = client.post(login, {"username": name, "password": PASSWORD})

    if not persona.active:
        assert response.status_code == 200  # the form again: an inactive user does not get in
        assert client.get(documents)["Location"].startswith(LOGIN_PATH)
        return
    assert (response.status_code, response["Location"]) == (302, reverse("review:home"))
    assert client.get(login)["Location"] == reverse("review:home")  # already logged in
    assert client.get(documents).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # logging out takes a POST
    assert client.post(reverse("logout"))["Location"] == login
    assert client.get(documents)["Location"].startswith(LOGIN_PATH)


def test_a_wrong_password_does_not_log_in(world):
    client = Client()

    response = client.post(reverse("login"), {"username": "officer", "password": "not-the-password"})

    assert response.status_code == 200
    assert client.get(reverse("review:documents"))["Location"].startswith(LOGIN_PATH)


@pytest.mark.parametrize(
    ("name", "password", "status"),
    [("officer", PASSWORD, 200), ("officer", "not-the-password", 400), ("deactivated", PASSWORD, 400)],
)
def test_the_api_token_exchange(world, name, password, status):
    client = Client()

    response = client.post(
        reverse("api:token"), {"username": name, "password": password}, content_type="application/json"
    )

    assert response.status_code == status
    if status == 200:
        # Each exchange gives a new token (stored only as its hash); it works at once.
        [(field, key)] = response.json().items()
        assert field == "token" and re.fullmatch(r"[0-9a-f]{40}", key) and key != world.tokens[name]
        me = Client().get(reverse("api:me"), headers={"Authorization": f"Token {key}"})
        assert (me.status_code, me.json()["username"]) == (200, name)
    assert client.get(reverse("api:token")).status_code == 405
