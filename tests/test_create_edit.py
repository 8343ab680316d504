import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.labels import Action as LogAction
from review import services
from review.models import AuditAction, Document, content_hash
from tests import factories
from tests.factories import Role, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db

DIRTY_BODY = '<p onclick="steal()">接种时间：每周二上午。</p><script>alert("x")</script><img src=x onerror="evil()">'
CLEAN_BODY = "<p>接种时间：每周二上午。</p>"


def form_data(department, **overrides):
    data = {
        "title": "秋冬季流感疫苗接种通知",
        "department": department.pk,
        "kind": "notice",
        "channels": ["website", "wechat"],
        "source": "",
        "due_date": "",
        "body": DIRTY_BODY,
    }
    data.update(overrides)
    return data


def edit_data(document, **overrides):
    data = {
        "title": document.title,
        "department": document.department_id,
        "kind": document.kind,
        "channels": document.channels,
        "source": document.source,
        "due_date": document.due_date.isoformat() if document.due_date else "",
        "body": document.body,
    }
    if document.is_major:
        data["is_major"] = "on"
    data.update(overrides)
    return data


def test_it_creates_a_sanitised_draft_with_its_first_revision(client_for, drafter, department):
    response = client_for(drafter).post(reverse("review:document_create"), form_data(department))

    document = Document.objects.get()
    assert response.status_code == 302
    assert response.url == document.get_absolute_url()
    assert document.state == Document.State.DRAFT
    assert document.drafter == drafter
    assert document.department == department
    assert document.channels == ["website", "wechat"]
    assert document.body == CLEAN_BODY
    revision = document.current_revision
    assert (revision.number, revision.title, revision.body) == (1, document.title, CLEAN_BODY)
    assert revision.content_hash == content_hash(document.title, CLEAN_BODY)
    event = last_event(document)
    assert payload(event) == {
        "action": AuditAction.CREATED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": "",
        "to_state": Document.State.DRAFT,
        "comment": "",
        "data": {},
    }
    assert event.content_hash == revision.content_hash
    assert (event.object_type, event.object_id, event.scope) == ("review.document", document.pk, str(department.pk))


def test_it_sanitises_the_body_in_the_service_too(drafter, department):
    document = services.create_document(
        drafter=drafter, title="t", body=DIRTY_BODY, department=department, channels=["website"], kind="news"
    )

    assert document.body == CLEAN_BODY


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>通知</p><script>alert(1)</script>", "<p>通知</p>"),
        ('<p onclick="x()" style="color:red">通知</p>', "<p>通知</p>"),
        ('<a href="javascript:alert(1)">链接</a>', '<a rel="noopener noreferrer">链接</a>'),
        (
            '<a href="https://example.org/">链接</a>',
            '<a href="https://example.org/" rel="noopener noreferrer">链接</a>',
        ),
        ('<iframe src="https://evil.example/"></iframe><p>正文</p>', "<p>正文</p>"),
        ("<h2>标题</h2><ul><li>一</li></ul>", "<h2>标题</h2><ul><li>一</li></ul>"),
    ],
)
def test_it_keeps_only_the_editors_formatting(dirty, clean):
    assert services.sanitise(dirty) == clean


TABLE = "<table><tbody><tr><td>项目</td><td>时间</td></tr></tbody></table>"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        # The editor's block around a table (review/editor.js): figure, caption and the JSON copy go, the table stays.
        (
            f'<div>前</div><div><figure data-trix-attachment="{{&quot;content&quot;:&quot;&lt;script&gt;&quot;}}"'
            f' data-trix-content-type="application/vnd.imprimatur.table" class="attachment attachment--content">{TABLE}'
            f'<figcaption class="attachment__caption"></figcaption></figure></div><div>后</div>',
            f"<div>前</div>{TABLE}<div>后</div>",
        ),
        # What is inside the block is cleaned like any text.
        (
            '<div><figure><table><tr><td onclick="x()">项目<script>alert(1)</script></td><td>时间</td></tr></table>'
            "</figure></div>",
            TABLE,
        ),
        # A table nested in another (Word allows it) is stored as it came; only a block holding one table is undone.
        (
            f"<div><table><tbody><tr><td>{TABLE}</td></tr></tbody></table></div>",
            f"<div><table><tbody><tr><td>{TABLE}</td></tr></tbody></table></div>",
        ),
        (f"<div>说明{TABLE}</div>", f"<div>说明{TABLE}</div>"),
    ],
)
def test_a_table_comes_out_of_the_editors_block_as_it_went_in(sent, stored):
    assert services.sanitise(sent) == stored
    assert services.sanitise(stored) == stored  # stored text goes through the editor unchanged


def test_it_refuses_a_department_the_drafter_does_not_write_for(client_for, drafter, department, other_department):
    response = client_for(drafter).post(reverse("review:document_create"), form_data(other_department))

    assert response.status_code == 200
    assert "department" in response.context["form"].errors
    assert not Document.objects.exists()


def test_it_keeps_the_typed_text_when_the_form_is_invalid(client_for, drafter, department):
    response = client_for(drafter).post(reverse("review:document_create"), form_data(department, title=""))

    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert response.context["form"]["kind"].value() == "notice"
    assert not Document.objects.exists()


def test_it_refuses_a_body_that_is_empty_once_cleaned(client_for, drafter, department):
    response = client_for(drafter).post(
        reverse("review:document_create"), form_data(department, body="<script>alert(1)</script>")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["body"] == [zh("Write the piece before saving it.")]
    assert not Document.objects.exists()


def test_it_refuses_someone_who_drafts_for_no_department(client_for, officer, department):
    response = client_for(officer).post(reverse("review:document_create"), form_data(department))

    assert response.status_code == 403
    assert not Document.objects.exists()
    with pytest.raises(services.NotAllowed):
        services.create_document(
            drafter=officer, title="t", body="<p>x</p>", department=department, channels=["website"], kind="news"
        )


def test_it_asks_visitors_to_log_in(client, department):
    response = client.get(reverse("review:document_create"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_edits_a_draft_into_a_new_sanitised_revision(client_for, drafter):
    document = factories.make_document(drafter=drafter)
    first = document.current_revision

    response = client_for(drafter).post(
        reverse("review:document_edit", args=[document.pk]),
        edit_data(document, title="新标题", body='<p>改过了</p><script>x()</script><a href="#" onclick="y()">链接</a>'),
    )

    assert response.status_code == 302
    document = factories.fresh(document)
    assert document.title == "新标题"
    assert document.body == '<p>改过了</p><a href="#" rel="noopener noreferrer">链接</a>'
    assert document.current_revision.number == 2
    assert document.current_revision.content_hash == content_hash("新标题", document.body)
    assert factories.fresh(document).revisions.get(number=1).content_hash == first.content_hash
    assert payload(last_event(document)) == {
        "action": AuditAction.EDITED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": "",
        "to_state": "",
        "comment": "",
        "data": {"fields": ["body", "title"]},
    }


def test_it_keeps_the_revision_when_only_details_change(client_for, drafter):
    document = factories.make_document(drafter=drafter, channels=["website"])

    client_for(drafter).post(
        reverse("review:document_edit", args=[document.pk]), edit_data(document, channels=["website", "weibo"])
    )

    document = factories.fresh(document)
    assert document.channels == ["website", "weibo"]
    assert document.revisions.count() == 1
    assert last_event(document).data == {"fields": ["channels"]}


def test_it_records_nothing_when_nothing_changed(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(reverse("review:document_edit", args=[document.pk]), edit_data(document))

    assert response.status_code == 302
    assert last_event(document).action == AuditAction.CREATED


def test_it_keeps_the_department_fixed(client_for, drafter, other_department):
    document = factories.make_document(drafter=drafter)
    department = document.department

    client_for(drafter).post(
        reverse("review:document_edit", args=[document.pk]),
        edit_data(document, department=other_department.pk, title="换个标题"),
    )

    document = factories.fresh(document)
    assert document.title == "换个标题"
    assert document.department == department


def withdrawn(drafter):
    """A piece its drafter withdrew: it can no longer change (a piece in review can, restarting its review)."""
    return services.withdraw(document=factories.submitted_document(drafter=drafter), user=drafter)


def test_it_refuses_edits_once_withdrawn(client_for, drafter):
    document = withdrawn(drafter)
    client = client_for(drafter)
    url = reverse("review:document_edit", args=[document.pk])

    # Too late to edit: a matter of the piece's state (a conflict), answered on its page, whatever was posted.
    for response in (client.get(url, follow=True), client.post(url, edit_data(document, title="偷偷改"), follow=True)):
        assert response.redirect_chain == [(document.get_absolute_url(), 302)]
        assert factories.messages_of(response) == [zh("This piece can no longer be edited.")]
    assert factories.fresh(document).title == document.title
    assert document.revisions.count() == 1
    with pytest.raises(services.Conflict):
        services.edit_document(document=document, user=drafter, title="偷偷改")


def test_it_refuses_edits_by_another_drafter_of_the_department(client_for, drafter, department):
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])
    document = factories.make_document(drafter=drafter)
    url = reverse("review:document_edit", args=[document.pk])

    assert client_for(colleague).get(reverse("review:document", args=[document.pk])).status_code == 200
    assert client_for(colleague).post(url, edit_data(document, title="别人的")).status_code == 403
    assert factories.fresh(document).title == document.title


def test_it_hides_the_piece_from_another_department(client_for, drafter, outsider):
    document = factories.make_document(drafter=drafter)

    response = client_for(outsider).post(
        reverse("review:document_edit", args=[document.pk]), edit_data(document, title="外人")
    )

    assert response.status_code == 404
    assert factories.fresh(document).title == document.title


def test_it_lets_the_drafter_edit_a_returned_piece(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=document, user=officer, reason="请补充时间。")

    response = client_for(drafter).post(
        reverse("review:document_edit", args=[document.pk]), edit_data(document, body="<p>时间：周二。</p>")
    )

    assert response.status_code == 302
    document = factories.fresh(document)
    assert document.state == Document.State.RETURNED
    assert document.current_revision.number == 2
    assert document.body == "<p>时间：周二。</p>"


def test_it_records_a_refused_edit(client_for, drafter):
    document = withdrawn(drafter)

    client_for(drafter).post(reverse("review:document_edit", args=[document.pk]), edit_data(document, title="偷偷改"))

    event = last_event(document)
    assert (event.action, event.actor, event.data.get("attempted")) == (LogAction.REFUSED, drafter, "edit")


def test_it_shows_the_refusal_reason(client_for, drafter, department):
    document = withdrawn(drafter)
    draft = factories.make_document(drafter=drafter)
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])

    too_late = client_for(drafter).get(reverse("review:document_edit", args=[document.pk]), follow=True)
    not_theirs = client_for(colleague).get(reverse("review:document_edit", args=[draft.pk]))

    assert too_late.redirect_chain == [(document.get_absolute_url(), 302)]
    assert factories.messages_of(too_late) == [zh("This piece can no longer be edited.")]
    assert not_theirs.status_code == 403
    assert escape(zh("Only the drafter can edit this piece.")) in not_theirs.content.decode()
