"""A drafter uploads a Word document (.docx, from Word or WPS) instead of typing: its headings, lists and tables
become the piece's HTML, sanitised like anything typed; its images and the file itself go with the piece as
attachments."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document as WordDocument
from PIL import Image

from review import services, word
from review.models import Attachment, Document
from tests import factories
from tests.factories import fresh, zh

pytestmark = pytest.mark.django_db


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def docx_file(*, image: bool = True) -> bytes:
    document = WordDocument()
    document.add_heading("秋季流感疫苗接种安排", level=1)
    document.add_paragraph("接种对象：60岁以上老人。")
    document.add_paragraph("携带身份证", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for row, (day, place) in enumerate([("日期", "地点"), ("周二", "二楼")]):
        table.cell(row, 0).text, table.cell(row, 1).text = day, place
    if image:
        document.add_picture(io.BytesIO(png()))
    paragraph = document.add_paragraph()
    paragraph.add_run("<script>alert(1)</script>").bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def upload(data: bytes, name: str = "通知.docx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_the_html_keeps_headings_lists_and_tables_and_takes_the_images_out():
    converted = word.convert(upload(docx_file()))

    body = services.sanitise(converted.html)
    # Paragraphs are written as the editor writes lines, so a later edit in the editor changes only what it changes.
    assert body == (
        "<h1>秋季流感疫苗接种安排</h1><div>接种对象：60岁以上老人。</div><ul><li>携带身份证</li></ul>"
        "<table><tbody><tr><td><div>日期</div></td><td><div>地点</div></td></tr>"
        "<tr><td><div>周二</div></td><td><div>二楼</div></td></tr></tbody></table>"
        "<div><strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong></div>"
    )
    assert [(image.name, image.read()) for image in converted.images] == [("image-1.png", png())]


def test_a_file_that_is_not_word_is_refused():
    with pytest.raises(word.NotWord):
        word.convert(upload(b"PK\x03\x04 not really a zip"))


def form_fields(drafter, **extra) -> dict:
    department = drafter.memberships.get().department
    return {"title": "流感疫苗", "body": "", "department": department.pk, "kind": "news", "channels": ["website"],
            "summary": "", **extra}  # fmt: skip


def test_a_new_piece_from_word_keeps_its_text_and_attaches_the_file_and_its_images(drafter, client_for):
    data = docx_file()

    response = client_for(drafter).post(reverse("review:document_create"), form_fields(drafter, word_file=upload(data)))

    assert response.status_code == 302
    document = Document.objects.get()
    assert "<h1>秋季流感疫苗接种安排</h1>" in document.body and "<table>" in document.body
    assert document.current_revision.body == document.body
    attachments = Attachment.objects.filter(document=document).order_by("pk")
    assert [(a.original_name, a.extension, a.content_type, a.sha256) for a in attachments] == [
        ("通知.docx", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         hashlib.sha256(data).hexdigest()),
        ("image-1.png", ".png", "image/png", hashlib.sha256(png()).hexdigest()),
    ]  # fmt: skip


def test_a_word_upload_replaces_the_text_of_a_returned_piece(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=document, user=officer, reason="请重写。")
    fields = form_fields(drafter, title=document.title, body=factories.BODY, note="", word_file=upload(docx_file()))

    response = client_for(drafter).post(reverse("review:document_edit", args=[document.pk]), fields)

    assert response.status_code == 302
    document = fresh(document)
    assert "秋季流感疫苗接种安排" in document.body and document.revisions.count() == 2
    assert document.attachments.count() == 2


def test_a_bad_upload_is_refused_with_a_reason_and_loses_nothing(drafter, client_for):
    fields = form_fields(drafter, body="<p>我打的字</p>", word_file=upload(b"not a word file", name="通知.docx"))

    response = client_for(drafter).post(reverse("review:document_create"), fields)

    assert response.status_code == 200 and not Document.objects.exists()
    assert response.context["form"].errors["word_file"] == [
        zh("The file's content is not what its name says (.%(ext)s).", ext="docx")
    ]
    assert "我打的字" in response.content.decode()


def test_another_fields_error_keeps_the_uploaded_text_in_the_editor(drafter, client_for):
    fields = form_fields(drafter, title="", word_file=upload(docx_file(image=False)))

    response = client_for(drafter).post(reverse("review:document_create"), fields)

    assert response.status_code == 200 and not Document.objects.exists()
    assert "秋季流感疫苗接种安排" in response.context["form"]["body"].value()


def test_a_piece_in_review_offers_no_upload(drafter, client_for):
    document = factories.submitted_document(drafter=drafter)

    page = client_for(drafter).get(reverse("review:document_edit", args=[document.pk]))

    assert "word_file" not in page.context["form"].fields


def test_a_document_that_unpacks_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", 1000)

    with pytest.raises(word.NotWord):
        word.convert(upload(docx_file(image=False)))
