"""校对 in place: the reviewer at the current stage corrects the text; the correction is a revision in their name,
at their stage, and their signature binds to the corrected text. The drafter and every later signer see it."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from review import services
from review.models import Document, Revision
from review.pdf import signoff_sheet_pdf
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import fresh, last_event, zh

pytestmark = pytest.mark.django_db

CORRECTED = "<p>请广大居民相互转告，如有疑问请咨询卫生院。</p>"


def correct_url(document):
    return reverse("review:document_correct", args=[document.pk])


def test_a_correction_is_a_revision_in_the_reviewers_name_at_their_stage(drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    services.correct_document(document=document, user=officer, title=document.title, body=CORRECTED, note="补全句子")

    document = fresh(document)
    revision = Revision.objects.get(document=document, number=2)
    assert (revision.author, revision.stage.name, revision.note) == (officer, "初审", "补全句子")
    assert revision.body == CORRECTED
    assert document.current_revision == revision and document.body == CORRECTED
    assert (document.state, document.current_stage.name, document.round) == ("in_review", "初审", 1)
    event = last_event(document)
    assert (event.action, event.actor, event.actor_role, event.comment, event.content_hash) == (
        "edited",
        officer,
        "information_officer",
        "补全句子",
        revision.content_hash,
    )
    assert event.data == {"fields": ["body"], "correction": True, "stage": "初审/初校", "revision": 2}


def test_the_signature_binds_to_the_corrected_text_and_later_signers_see_the_change(drafter, officer, head, client_for):
    document = factories.submitted_document(drafter=drafter)
    services.correct_document(document=document, user=officer, title="更正后的标题", body=CORRECTED)
    factories.approve_by(document, officer)

    signed = fresh(document).stage_reviews.get(meaning="初审")
    assert (signed.revision.number, signed.revision_hash) == (2, fresh(document).current_revision.content_hash)
    page = client_for(head).get(reverse("review:document", args=[document.pk]))
    comparison = page.context["comparison"]
    assert (comparison["old"].number, comparison["new"].number) == (1, 2)
    assert "更正后的标题" in "".join(piece.text for piece in comparison["pieces"] if piece.op == "insert")
    assert zh("corrected at %(stage)s", stage="初审/初校") in page.content.decode()


def test_the_web_page_corrects_and_keeps_what_was_typed_when_refused(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(officer)

    form = client.get(correct_url(document))
    unchanged = client.post(correct_url(document), {"title": document.title, "body": document.body, "note": "无"})
    empty = client.post(correct_url(document), {"title": "", "body": CORRECTED, "note": "我的说明"})
    saved = client.post(correct_url(document), {"title": document.title, "body": CORRECTED, "note": "改句"})

    assert form.status_code == 200 and form.context["form"]["body"].value() == document.body
    assert unchanged.status_code == 400
    assert zh("The text is as it was: there is no correction to save.") in unchanged.content.decode()
    assert empty.status_code == 400 and "我的说明" in empty.content.decode()
    assert saved.status_code == 302
    assert list(fresh(document).revisions.values_list("number", "author", "note")) == [
        (1, drafter.pk, ""),
        (2, officer.pk, "改句"),
    ]


@pytest.mark.parametrize("who", ["drafter", "head", "outsider"])
def test_only_the_current_stages_reviewer_corrects(request, who, drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter)
    person = request.getfixturevalue(who)
    before = AuditEvent.objects.count()

    with pytest.raises(services.NotAllowed):
        services.correct_document(document=document, user=person, title="改", body=CORRECTED)
    web = client_for(person).post(correct_url(document), {"title": "改", "body": CORRECTED})

    # The drafter and the department's head see the piece (the head, to reassign a stage); the outsider does not.
    assert web.status_code == (404 if who == "outsider" else 403)
    assert fresh(document).revisions.count() == 1 and fresh(document).body != CORRECTED
    refusals = AuditEvent.objects.filter(sequence__gt=before, action="refused")
    assert [event.data["attempted"] for event in refusals] == ["correct"] * (1 if who == "outsider" else 2)


def test_a_piece_out_of_review_cannot_be_corrected(drafter, officer, client_for):
    document = factories.make_document(drafter=drafter)

    with pytest.raises(services.Conflict):
        services.correct_document(document=document, user=officer, title="改", body=CORRECTED)
    assert client_for(officer).get(correct_url(document)).status_code == 404


def test_get_shows_the_form_but_changes_nothing_and_post_needs_csrf(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)

    client.get(correct_url(document), {"title": "改", "body": CORRECTED})
    refused = client.post(correct_url(document), {"title": "改", "body": CORRECTED})

    assert refused.status_code == 403
    assert fresh(document).revisions.count() == 1


def test_the_api_corrects_and_answers_by_the_contract(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    path = f"/api/v1/documents/{document.pk}/correct/"

    not_yours = api_client(drafter).post(path, {"title": "改", "body": CORRECTED}, format="json")
    missing = api_client(officer).post(path, {"body": CORRECTED}, format="json")
    done = api_client(officer).post(path, {"title": document.title, "body": CORRECTED, "note": "改句"}, format="json")
    revisions = api_client(drafter).get(f"/api/v1/documents/{document.pk}/revisions/").json()

    assert (not_yours.status_code, missing.status_code, done.status_code) == (403, 400, 200)
    assert "title" in missing.json()
    assert "correct" in api_client(officer).get(f"/api/v1/documents/{document.pk}/").json()["actions"]
    assert [(r["number"], r["author"], r["corrected_at"], r["note"]) for r in revisions] == [
        (1, {"username": drafter.username, "name": drafter.printed_name}, None, ""),
        (2, {"username": officer.username, "name": officer.printed_name}, "初审/初校", "改句"),
    ]
    assert Document.objects.get(pk=document.pk).body == CORRECTED


def test_the_correction_page_lists_what_the_pre_checks_found(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter, body="<p>望大家再接再励。</p>")

    page = client_for(officer).get(correct_url(document))

    assert [(f.rule, f.excerpt, f.suggestion) for f in page.context["findings"]] == [
        ("misspelling", "再接再励", "再接再厉")
    ]
    assert "再接再厉" in page.content.decode()


def test_the_sign_off_sheet_names_who_wrote_each_revision(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    services.correct_document(document=document, user=officer, title=document.title, body=CORRECTED, note="补全句子")
    factories.approve_by(document, officer)

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(signoff_sheet_pdf(fresh(document)))).pages)

    assert "补全句子" in text and "初审/初校" in text
    assert zh("Revisions") in text
    assert fresh(document).current_revision.content_hash[:16] in text
