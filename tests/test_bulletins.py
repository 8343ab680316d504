"""The bulletin (简报): an issue assembled from approved pieces, signed off through its own workflow, printed as an
A4 PDF with the pieces in order and put out as HTML, and registered when published."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from review import services
from review.models import Bulletin, Document, Publication
from tests import factories
from tests.factories import PASSWORD, fresh
from tests.test_signoff_sheet import pdf_text

pytestmark = pytest.mark.django_db

NEW = reverse("review:bulletin_create")


@pytest.fixture
def approved(drafter, reviewers):
    first = factories.approved_document(*reviewers, drafter=drafter, title="流感疫苗接种开始")
    second = factories.approved_document(*reviewers, drafter=drafter, title="义诊活动圆满结束")
    return first, second


def issue_data(*, pieces, number=1, **extra):
    """The form's fields: `pieces` is a list of (piece, position, section heading)."""
    data = {"title": "卫生院工作简报", "number": number, "issued_on": timezone.localdate().isoformat(),
            "editor_note": "本期聚焦秋冬季疾病预防。", "note": ""}  # fmt: skip
    data["pieces"] = [str(piece.pk) for piece, *_ in pieces]
    for piece, position, section in pieces:
        data[f"position_{piece.pk}"] = str(position)
        data[f"section_{piece.pk}"] = section
    return {**data, **extra}


def test_an_issue_goes_from_its_pieces_to_print_and_the_register(approved, drafter, leader, publisher, client_for):
    flu, clinic = approved
    editor = client_for(drafter)

    response = editor.post(NEW, issue_data(pieces=[(clinic, 1, "工作动态"), (flu, 2, "疾病预防")]))

    issue = Bulletin.objects.get()
    assert response.status_code == 302 and response["Location"] == issue.document.get_absolute_url()
    assert (issue.year, issue.number, issue.editor) == (timezone.localdate().year, 1, drafter)
    assert [(item.source, item.section, item.position) for item in issue.items.all()] == [
        (clinic, "工作动态", 1), (flu, "疾病预防", 2),
    ]  # fmt: skip
    document = issue.document
    assert (document.kind, document.state, document.drafter) == ("bulletin", "draft", drafter)
    assert document.title == f"卫生院工作简报 {issue.year}年第1期"
    body = document.body
    assert (
        body.index("本期聚焦")
        < body.index("工作动态")
        < body.index("义诊活动圆满结束")
        < body.index("流感疫苗接种开始")
    )
    assert editor.get(reverse("review:bulletin_pdf", args=[issue.pk])).status_code == 404  # not signed off yet

    services.submit_document(document=document, user=drafter)
    document = fresh(document)
    assert [stage.name for stage in document.route.all()] == ["终审"]  # the bulletin's workflow: the leader signs
    services.approve(document=document, user=leader, password=PASSWORD, checklist=factories.answers(document))
    assert fresh(document).state == Document.State.APPROVED

    pdf = editor.get(reverse("review:bulletin_pdf", args=[issue.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf).replace(" ", "")  # the masthead is letter-spaced
    assert "卫生院工作简报" in text and f"{issue.year}年第1期" in text
    assert (
        text.index("工作动态")
        < text.index("义诊活动圆满结束")
        < text.index("\n疾病预防\n")
        < text.index("流感疫苗接种开始")
    )
    html = editor.get(reverse("review:bulletin_html", args=[issue.pk])).content.decode()
    assert "<script" not in html and html.index("义诊活动圆满结束") < html.index("流感疫苗接种开始")

    services.publish(document=fresh(document), user=publisher, channel="newsletter")
    assert Publication.objects.get(document=document).channel == "newsletter"
    assert f"{issue.year}年第1期" in client_for(publisher).get(reverse("review:register")).content.decode()


def test_only_approved_pieces_the_editor_may_read_go_in(approved, drafter, client_for):
    draft = factories.make_document(drafter=drafter, title="还没审完")

    response = client_for(drafter).post(NEW, issue_data(pieces=[(approved[0], 1, ""), (draft, 2, "")]))

    assert response.status_code == 400
    assert not Bulletin.objects.exists() and not Document.objects.filter(kind="bulletin").exists()
    assert 'value="卫生院工作简报"' in response.content.decode()  # what was typed stays


def test_an_issue_number_is_used_once_a_year(approved, drafter, client_for):
    client = client_for(drafter)
    client.post(NEW, issue_data(pieces=[(approved[0], 1, "")]))

    again = client.post(NEW, issue_data(pieces=[(approved[1], 1, "")]))

    assert again.status_code == 400
    assert Bulletin.objects.count() == 1 and Document.objects.filter(kind="bulletin").count() == 1
    assert client.get(NEW).context["form"].initial["number"] == 2  # the next free number is offered


def test_the_issue_changes_on_its_own_page_only(approved, drafter, client_for):
    client = client_for(drafter)
    client.post(NEW, issue_data(pieces=[(approved[0], 1, "")]))
    issue = Bulletin.objects.get()

    edit = client.get(reverse("review:document_edit", args=[issue.document.pk]))
    assert edit.status_code == 302 and edit["Location"] == reverse("review:bulletin_edit", args=[issue.pk])
    with pytest.raises(services.Invalid):
        services.edit_document(document=issue.document, user=drafter, body="<div>手写的内容</div>")

    changed = client.post(
        reverse("review:bulletin_edit", args=[issue.pk]),
        issue_data(pieces=[(approved[1], 1, "新闻"), (approved[0], 2, "新闻")], editor_note=""),
    )

    assert changed.status_code == 302
    assert [item.source for item in Bulletin.objects.get().items.all()] == [approved[1], approved[0]]
    assert "本期聚焦" not in fresh(issue.document).body


def test_editors_draft_and_others_cannot_make_an_issue(leader, client_for):
    assert client_for(leader).get(NEW).status_code == 403
    assert client_for(leader).get(reverse("review:bulletins")).status_code == 200


def test_the_new_piece_form_offers_no_bulletin_kind(drafter, client_for):
    kinds = [code for code, _label in client_for(drafter).get(reverse("review:document_create")).context["form"]
             .fields["kind"].choices]  # fmt: skip
    assert "bulletin" not in kinds and "news" in kinds


def test_an_issue_can_be_dated_another_year(approved, drafter, client_for):
    next_year = timezone.localdate().replace(month=1, day=5) + datetime.timedelta(days=366)
    client_for(drafter).post(NEW, issue_data(pieces=[(approved[0], 1, "")], issued_on=next_year.isoformat()))

    assert (Bulletin.objects.get().year, Bulletin.objects.get().number) == (next_year.year, 1)
