"""The bulletin (简报): an editor assembles an issue from approved pieces, in order under section headings, with a
note; the issue is then a piece of its own (kind "bulletin"), signed off through the bulletin's workflow, printed
as an A4 PDF and put out as HTML once approved, and registered when published like any piece."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy

from accounts.models import Membership, User

from . import services
from .models import Bulletin, BulletinItem, Channel, Document, Kind
from .reasons import reason

# How far back an editor looks for pieces to put in an issue.
CANDIDATE_DAYS = 92


@dataclass(frozen=True)
class Item:
    source: Document
    section: str = ""


def candidates(user: User):
    """Return the pieces `user` may put in an issue: approved or published, of the last CANDIDATE_DAYS, visible
    to them, newest first (issues of the bulletin themselves left out)."""
    since = datetime.date.today() - datetime.timedelta(days=CANDIDATE_DAYS)
    return (
        Document.objects.visible_to(user)
        .filter(state__in=[Document.State.APPROVED, Document.State.PUBLISHED], created_at__date__gte=since)
        .exclude(kind=Kind.BULLETIN)
        .select_related("department")
        .order_by("-pk")
    )


def next_number(year: int) -> int:
    """Return the number the next issue of `year` takes."""
    last = Bulletin.objects.filter(year=year).order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def assembled_body(*, editor_note: str, items: list[Item]) -> str:
    """Return the issue's text: the editor's note, then each piece's title and text under its section heading."""
    html = render_to_string("review/bulletin_body.html", {"editor_note": editor_note, "items": items})
    return services.sanitise(html)


def _check(user: User, items: list[Item]) -> None:
    if not items:
        raise services.Invalid(gettext_lazy("Choose at least one piece for the issue."), field="pieces")
    visible = set(candidates(user).values_list("pk", flat=True))
    for item in items:
        if item.source.pk not in visible:
            raise services.Invalid(
                reason(
                    gettext_lazy("《%(title)s》 cannot go in an issue: only approved pieces you may read."),
                    title=item.source.title,
                ),
                field="pieces",
            )


@transaction.atomic
def save_issue(
    *,
    user: User,
    title: str,
    number: int,
    issued_on: datetime.date,
    editor_note: str,
    items: list[Item],
    bulletin: Bulletin | None = None,
    note: str = "",
) -> Bulletin:
    """Create an issue (a draft piece of the kind "bulletin", in the editor's department) or change one (its
    piece changes as any piece does: after submission, review starts again and `note` says what changed)."""
    _check(user, items)
    with translation.override(settings.LANGUAGE_CODE):  # the piece's title, in the organisation's language
        heading = Bulletin(title=title, year=issued_on.year, number=number).heading
    body = assembled_body(editor_note=editor_note, items=items)
    if bulletin is None:
        department = user.memberships.filter(role=Membership.Role.DRAFTER).order_by("pk").first()
        if department is None:
            services.check_can_draft(user)  # raises, saying why
        document = services.create_document(
            drafter=user, title=heading, body=body, department=department.department,
            channels=[Channel.NEWSLETTER, Channel.WEBSITE, Channel.WECHAT], kind=Kind.BULLETIN,
        )  # fmt: skip
        bulletin = Bulletin(document=document, editor=user)
    else:
        services.edit_document(
            document=bulletin.document, user=user, note=note, assembled=True, title=heading, body=body
        )
    bulletin.title, bulletin.number, bulletin.year, bulletin.issued_on = title, number, issued_on.year, issued_on
    bulletin.editor_note = editor_note
    try:
        with transaction.atomic():
            bulletin.save()
    except IntegrityError:
        raise services.Invalid(
            reason(gettext_lazy("Issue %(number)s of %(year)s exists already."), number=number, year=issued_on.year),
            field="number",
        ) from None
    bulletin.items.all().delete()
    BulletinItem.objects.bulk_create(
        BulletinItem(bulletin=bulletin, source=item.source, section=item.section, position=position)
        for position, item in enumerate(items, start=1)
    )
    return bulletin


def is_out(bulletin: Bulletin) -> bool:
    """Whether the issue may be printed and put out: signed off (approved), or published already."""
    return bulletin.document.state in (Document.State.APPROVED, Document.State.PUBLISHED)


def context(bulletin: Bulletin) -> dict:
    """Return what the printed and the web issue show."""
    items = list(bulletin.items.select_related("source__department"))
    organisation = settings.ORGANISATION_NAME or bulletin.document.department.name
    return {"bulletin": bulletin, "items": items, "document": bulletin.document, "organisation": organisation}
