"""Uploads: checked by content and by name, size-limited, stored under generated names, served with permission."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from review.models import Attachment, AuditAction
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


def upload(client, document, name, content):
    return client.post(
        reverse("review:attachment_add", args=[document.pk]), {"file": SimpleUploadedFile(name, content)}
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def test_it_attaches_a_file_under_a_generated_name(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    response = upload(client_for(drafter), document, "通知.pdf", PDF)

    assert response.status_code == 302
    attachment = Attachment.objects.get(document=document)
    assert attachment.original_name == "通知.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF)
    assert "通知" not in attachment.file.name and attachment.file.name.endswith(".pdf")
    event = AuditEvent.objects.latest("sequence")
    assert (event.action, event.actor, event.data["fields"]) == (AuditAction.EDITED, drafter, ["attachments"])
    assert event.data["added"]["name"] == "通知.pdf"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("script.exe", b"MZ" + b"\x00" * 100, "Only these kinds of file can be attached"),
        ("photo.png", PDF, "is not what its name says"),
        ("report.pdf", b"<html><script>alert(1)</script></html>", "is not what its name says"),
    ],
)
def test_it_refuses_a_file_by_name_or_content(client_for, drafter, name, content, message):
    document = factories.make_document(drafter=drafter)

    response = upload(client_for(drafter), document, name, content)

    assert response.status_code == 400
    assert not Attachment.objects.exists()
    english = client_for(drafter).post(
        reverse("review:attachment_add", args=[document.pk]),
        {"file": SimpleUploadedFile(name, content)},
        headers={"accept-language": "en"},
    )
    assert message in english.content.decode()


def test_it_refuses_a_file_that_is_too_large(client_for, drafter, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    document = factories.make_document(drafter=drafter)

    response = upload(client_for(drafter), document, "big.png", PNG + b"\x00" * 200)

    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_it_refuses_uploads_by_anyone_but_the_drafter_and_after_submission(client_for, drafter, officer, outsider):
    document = factories.make_document(drafter=drafter)
    assert upload(client_for(officer), document, "a.pdf", PDF).status_code == 404  # may not even see a draft
    assert upload(client_for(outsider), document, "a.pdf", PDF).status_code == 404

    factories.submit(document)
    # Too late, even for the drafter: a conflict, answered with a message on the piece's page, and logged.
    response = client_for(drafter).post(
        reverse("review:attachment_add", args=[document.pk]), {"file": SimpleUploadedFile("a.pdf", PDF)}, follow=True
    )
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert factories.messages_of(response) == [factories.zh("This piece can no longer be edited.")]
    assert factories.payload(factories.last_event(document)) == {
        "action": "refused",
        "actor": drafter,
        "actor_name": drafter.printed_name,
        "actor_role": "",
        "from_state": "in_review",
        "to_state": "in_review",
        "comment": "",
        "data": factories.refused("attach", "This piece can no longer be edited."),
    }
    assert not Attachment.objects.exists()
    assert client_for(drafter).get(reverse("review:attachment_add", args=[document.pk])).status_code == 405


def test_it_serves_a_file_only_to_those_who_may_see_the_piece(client_for, drafter, officer, outsider):
    document = factories.make_document(drafter=drafter)
    upload(client_for(drafter), document, "通知.pdf", PDF)
    attachment = Attachment.objects.get()
    factories.submit(document)
    url = reverse("review:attachment", args=[document.pk, attachment.pk])

    response = client_for(officer).get(url)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    assert client_for(outsider).get(url).status_code == 404
    other = factories.make_document(drafter=drafter)
    assert client_for(officer).get(reverse("review:attachment", args=[other.pk, attachment.pk])).status_code == 404


def test_it_removes_a_file_while_the_piece_is_a_draft(client_for, drafter, django_capture_on_commit_callbacks):
    document = factories.make_document(drafter=drafter)
    upload(client_for(drafter), document, "通知.pdf", PDF)
    attachment = Attachment.objects.get()
    storage, name = attachment.file.storage, attachment.file.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(drafter).post(reverse("review:attachment_remove", args=[document.pk, attachment.pk]))

    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert not storage.exists(name)
    assert AuditEvent.objects.latest("sequence").data["removed"]["name"] == "通知.pdf"


def test_it_keeps_the_bytes_it_was_given(client_for, drafter):
    document = factories.make_document(drafter=drafter)
    upload(client_for(drafter), document, "x.png", PNG)
    attachment = Attachment.objects.get()
    assert io.BytesIO(attachment.file.read()).getvalue() == PNG
