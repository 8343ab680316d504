"""What a first day shows (issue 13, in part): an approval says where the piece went, four eyes explains itself,
a rejection asks first and can be started again from, a draft needs no channels yet, the piece shows its number,
and the site has an icon."""

import csv
import io

import pytest
from django.urls import reverse

from audit import exports
from review import services
from review.models import AuditAction, Document
from tests import factories
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, zh
from tests.test_create_edit import form_data

pytestmark = pytest.mark.django_db


def url(name, document):
    return reverse(f"review:document_{name}", args=[document.pk])


@pytest.fixture
def both(department):
    """Someone who holds the first two stages' roles: four eyes keeps them to one of the two on a piece."""
    return factories.make_user(
        "officer-and-head", display_name="孙两职",
        roles=[(Role.INFORMATION_OFFICER, department), (Role.DEPARTMENT_HEAD, department)],
    )  # fmt: skip


def approve_on_the_web(client, document):
    data = {"review": current_review(document).pk, "opinion": "同意。", "password": PASSWORD,
            **factories.checklist_form(document)}  # fmt: skip
    return client.post(url("approve", document), data, follow=True)


def test_an_approval_names_the_piece_and_where_it_went(drafter, officer, head, leader, client_for):
    document = factories.submitted_document(drafter=drafter, title="流感疫苗接种通知")

    response = approve_on_the_web(client_for(officer), document)

    assert factories.messages_of(response) == [
        zh("“%(title)s” passed %(stage)s and went to %(people)s for %(next)s.", title="流感疫苗接种通知",
           stage="初审", people="王建国", next="复审")
    ]  # fmt: skip
    factories.approve_by(fresh(document), head)
    done = approve_on_the_web(client_for(leader), fresh(document))
    assert factories.messages_of(done) == [
        zh("“%(title)s” passed %(stage)s: it is approved and waits to be published.", title="流感疫苗接种通知",
           stage="终审")
    ]  # fmt: skip


def test_four_eyes_explains_why_there_is_no_action_panel(drafter, both, head, client_for):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), both)

    page = client_for(both).get(document.get_absolute_url())

    reason = zh("You already acted at the %(stage)s stage of this piece; no one acts at two stages.", stage="初审")
    assert reason in page.content.decode()
    assert 'id="why-not"' not in client_for(head).get(document.get_absolute_url()).content.decode()


def test_reject_asks_first_and_a_rejected_piece_starts_a_new_draft(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter, title="义诊通知", body="<div>周六上午义诊。</div>")
    page = client_for(officer).get(document.get_absolute_url()).content.decode()
    assert 'value="reject" class="danger" data-confirm="' in page  # confirm.js asks before it goes

    services.reject(document=document, user=officer, reason="不宜发布。")
    drafter_page = client_for(drafter).get(document.get_absolute_url()).content.decode()
    assert 'id="rejected"' in drafter_page and "不宜发布。" in drafter_page
    assert client_for(officer).post(url("copy", document)).status_code == 403  # not their piece

    response = client_for(drafter).post(url("copy", document))

    copy = Document.objects.exclude(pk=document.pk).get(title="义诊通知")
    assert response.status_code == 302 and response["Location"] == copy.get_absolute_url()
    assert (copy.state, copy.body, copy.drafter, copy.channels) == ("draft", document.body, drafter, document.channels)
    event = last_event(copy)
    assert (event.action, event.actor, event.data) == (AuditAction.CREATED, drafter, {"copied_from": document.pk})
    assert fresh(document).state == Document.State.REJECTED


def test_only_a_rejected_piece_is_copied(drafter, client_for):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(url("copy", document))

    assert response.status_code == 302 and response["Location"] == document.get_absolute_url()
    assert Document.objects.count() == 1
    assert last_event().data["attempted"] == "copy"
    assert client_for(drafter).get(url("copy", document)).status_code == 405


def test_a_draft_needs_no_channels_until_it_is_submitted(drafter, department, client_for):
    client = client_for(drafter)
    new = client.get(reverse("review:document_create"))
    # The one department they draft for is chosen already.
    assert f'<option value="{department.pk}" selected>' in new.content.decode()

    saved = client.post(reverse("review:document_create"), form_data(department, channels=[], save="1"))

    document = Document.objects.get()
    assert saved.status_code == 302 and document.channels == []
    refused = client.post(url("submit", document), {"note": ""})
    assert refused.status_code == 400
    assert zh("Choose where the piece goes out (its channels) before submitting it.") in refused.content.decode()
    assert fresh(document).state == Document.State.DRAFT


def test_the_piece_shows_its_number_and_the_site_its_icon(drafter, client_for, client):
    document = factories.make_document(drafter=drafter)

    page = client_for(drafter).get(document.get_absolute_url()).content.decode()

    assert f'<dd id="piece-number">{document.pk}</dd>' in page
    assert 'rel="icon"' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("review/favicon.svg")


def test_a_refusal_shows_its_reason_in_the_history_and_the_audit_log(drafter, head, auditor, client_for):
    document = factories.submitted_document(drafter=drafter)
    client_for(head).post(url("return", document), {"opinion": "不行。", "review": current_review(document).pk})
    reason = last_event(document).data["reason"]
    assert last_event(document).action == "refused" and reason

    history = client_for(drafter).get(document.get_absolute_url()).content.decode()
    audit = client_for(auditor).get(reverse("review:audit")).content.decode()

    assert f'<small class="refusal-reason">{reason}</small>' in history
    assert f'<span class="refusal-reason">{reason}</span>' in audit


def test_the_admin_has_the_sites_own_title_in_chinese(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "<title>审核流程、人员与设置 | Imprimatur 管理后台</title>" in page
    assert "Imprimatur 管理后台" in page


def en(message: str, **params) -> str:
    return message % params if params else message


def test_a_refusal_is_kept_in_each_language_and_read_in_the_readers(drafter, both, auditor, client_for):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), both)
    review = current_review(document).pk
    # Refused while reading the site in English: four eyes, a reason with the stage filled in.
    client_for(both).post(url("return", document), {"opinion": "Not yet.", "review": review}, headers=EN)

    event = last_event(document)
    message = "You already acted at the %(stage)s stage of this piece; no one acts at two stages."
    reasons = factories.refused("return", message, stage="初审")["reasons"]
    assert "First review" in reasons["en"] and "初审" in reasons["zh-hans"]
    assert event.action == "refused"
    assert event.data == {"attempted": "return", "reason": reasons["en"], "reasons": reasons}
    in_chinese = client_for(auditor).get(reverse("review:audit")).content.decode()
    in_english = client_for(auditor).get(reverse("review:audit"), headers=EN).content.decode()
    assert f'<span class="refusal-reason">{reasons["zh-hans"]}</span>' in in_chinese
    assert f'<span class="refusal-reason">{reasons["en"]}</span>' in in_english
    history = client_for(drafter).get(document.get_absolute_url()).content.decode()
    assert f'<small class="refusal-reason">{reasons["zh-hans"]}</small>' in history


EN = {"accept-language": "en"}


def downloaded_csv(client, **headers) -> list[list[str]]:
    response = client.post(reverse("review:audit_export_create"), {"format": "csv"}, headers=headers)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_csv_from_the_page_is_in_the_readers_language_with_the_codes_kept(
    drafter, officer, head, auditor, client_for
):
    document = factories.submitted_document(drafter=drafter, title="义诊通知")
    client_for(head).post(url("return", document), {"opinion": "不行。", "review": current_review(document).pk})
    factories.approve_by(document, officer)
    refusal = "You do not hold the role that acts at this stage."

    for headers, words in (({}, zh), (EN, en)):
        header, *lines = downloaded_csv(client_for(auditor), **headers)
        rows = [dict(zip([*exports.COLUMNS, "action_words", "role_words", "from_words", "to_words", "reason"], line,
                         strict=True)) for line in lines]  # fmt: skip
        assert header[exports.COLUMNS.index("action")] == words("action")
        assert header[-1] == words("Reason refused")
        submitted = next(row for row in rows if row["action"] == "submitted")
        assert (submitted["action_words"], submitted["from_words"], submitted["to_words"]) == (
            words("Submitted"), words("Draft"), words("In review"),
        )  # fmt: skip
        refused = next(row for row in rows if row["action"] == "refused")
        assert (refused["action_words"], refused["reason"]) == (words("Refused"), words(refusal))
        approved = next(row for row in rows if row["action"] == "approved")
        assert (approved["action_words"], approved["role_words"]) == (words("Approved"), words("Information officer"))
        assert submitted["reason"] == ""


def test_the_admin_names_login_attempts_in_chinese(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    attempts = admin_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()

    assert "登录尝试与锁定" in index and ">Axes<" not in index
    assert "尝试时间" in attempts and "Attempt Time" not in attempts
