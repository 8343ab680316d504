"""The sign-off sheet (审签单) of a piece, and the public page that checks a printed sheet against the record."""

import datetime
import io
import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.labels import Action as LogAction
from audit.models import AuditEvent, Checkpoint
from review import services
from review.signoff import Match, check_code
from tests import factories
from tests.factories import PASSWORD, fresh, last_event, payload, zh

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TITLE = "关于开展冬季流感疫苗接种工作的通知"
LINK = "https://mp.weixin.qq.com/s/flu-vaccine-2026"
# The piece's sheet token (20 hex digits), a hyphen, and 10 hex digits of the digest.
CODE = re.compile(r"\b[0-9a-f]{20}-[0-9a-f]{10}\b")
NO_SHEET = "This code matches no sheet."
# What differs between any two answers: the CSP nonce and the CSRF token.
PER_RESPONSE = re.compile(r'(nonce" content="|name="csrfmiddlewaretoken" value=")[^"]*"')


def sheet_url(document):
    return reverse("review:signoff_sheet", args=[document.pk])


def verify_url(code):
    return reverse("review:verify", args=[code])


def pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def same_page(page: str, code: str) -> str:
    """Return a page with the code asked about, and what differs between any two responses, blanked."""
    return PER_RESPONSE.sub(r'\1"', page.replace(code, "CODE"))


def code_on(text: str) -> str:
    (code,) = set(CODE.findall(text))
    return code


def published_at() -> datetime.datetime:
    """A publication time in Shanghai, to the minute (not before the piece was written, nor in the future)."""
    return timezone.localtime(timezone.now(), SHANGHAI).replace(second=0, microsecond=0)


@pytest.fixture
def published(drafter, officer, head, leader, publisher):
    document = factories.make_document(drafter=drafter, title=TITLE, channels=["website", "wechat"])
    factories.submit(document)
    for reviewer, opinion in [(officer, "初审同意，文字已校。"), (head, "复审同意。"), (leader, "同意发布。")]:
        services.approve(
            document=document, user=reviewer, password=PASSWORD, opinion=opinion, checklist=factories.answers(document)
        )
    services.publish(document=document, user=publisher, channel="wechat", url=LINK, published_at=published_at())
    return fresh(document)


@pytest.fixture
def returned_then_resubmitted(drafter, officer, head):
    """A piece returned at 复审 in round 1, changed, resubmitted and signed again at 初审 in round 2."""
    document = factories.submitted_document(drafter=drafter, title=TITLE)
    services.approve(
        document=document, user=officer, password=PASSWORD, opinion="初审同意。", checklist=factories.answers(document)
    )
    services.return_for_changes(document=document, user=head, reason="第二段数据请核实。")
    services.edit_document(document=fresh(document), user=drafter, body="<p>数据已核实。</p>")
    factories.submit(fresh(document))
    services.approve(
        document=fresh(document),
        user=officer,
        password=PASSWORD,
        opinion="修改后同意。",
        checklist=factories.answers(document),
    )
    return fresh(document)


def test_it_prints_every_signature_of_a_published_piece(client_for, published, auditor):
    publication = published.publications.get()
    response = client_for(auditor).get(sheet_url(published))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="signoff-sheet-{published.pk}.pdf"'
    text = pdf_text(response)
    for expected in [
        zh("Sign-off sheet"),
        TITLE,
        "公共卫生科",  # department
        "张晓雯",  # drafter
        zh("Original"),  # source
        "李信",
        "王建国",
        "陈志强",
        zh("Information officer"),
        "初审",
        "复审",
        "终审",
        "初审同意，文字已校。",
        zh("Approved"),
        published.current_revision.content_hash,
        LINK,  # the publication record
        "赵敏",
        f"{timezone.localtime(publication.published_at, SHANGHAI):%Y-%m-%d %H:%M} CST (UTC+08:00)",
    ]:
        assert expected in text, expected
    code = code_on(text)
    assert code.startswith(f"{published.sheet_token}-")
    assert f"http://testserver/verify/{code}/" in text


def test_it_prints_the_chain_head_and_the_newest_checkpoint(client_for, published, auditor):
    client = client_for(auditor)  # logging in is recorded
    checkpoint = Checkpoint.sign_head()

    text = pdf_text(client.get(sheet_url(published)))

    # The head includes the download of this very sheet, recorded before it was printed.
    head = AuditEvent.objects.head()
    assert last_event().action == LogAction.DOWNLOADED
    assert head.sequence == checkpoint.sequence + 1
    flat = text.replace("\n", "")
    assert zh("Audit log when printed: event %(sequence)s", sequence=head.sequence) in flat
    assert head.hash in flat
    line = zh(
        "Newest signed checkpoint: no. %(number)s, through event %(sequence)s", number=1, sequence=head.sequence - 1
    )
    assert line in flat
    assert checkpoint.signature[:16] in flat


def test_it_prints_no_checkpoint_before_the_first_is_signed(client_for, published, auditor):
    text = pdf_text(client_for(auditor).get(sheet_url(published))).replace("\n", "")

    head = AuditEvent.objects.head()
    assert zh("Audit log when printed: event %(sequence)s", sequence=head.sequence) in text
    assert head.hash in text
    checkpoint_line = zh("Newest signed checkpoint: no. %(number)s, through event %(sequence)s").split("%(")[0]
    assert checkpoint_line.strip()
    assert checkpoint_line not in text


def test_it_records_the_download(client_for, published, auditor):
    client_for(auditor).get(sheet_url(published))

    event = last_event()
    assert payload(event) == {
        "action": LogAction.DOWNLOADED,
        "actor": auditor,
        "actor_name": "孙丽",
        "actor_role": "",
        "from_state": "",
        "to_state": "",
        "comment": "",
        "data": {"format": "signoff_pdf"},
    }
    assert (event.object_type, event.object_id, event.scope, event.content_hash) == (
        "review.document",
        published.pk,
        str(published.department_id),
        published.current_revision.content_hash,
    )
    assert last_event(published) == event


def test_it_marks_earlier_rounds_and_what_is_still_to_sign(client_for, returned_then_resubmitted, drafter):
    document = returned_then_resubmitted

    text = pdf_text(client_for(drafter).get(sheet_url(document)))

    assert zh("Sign-offs (round %(round)s)", round=2) in text
    assert zh("Earlier rounds") in text
    assert "第二段数据请核实。" in text  # round 1's return, with its reason
    assert zh("Returned for changes") in text
    assert "修改后同意。" in text
    assert zh("Pending") in text  # 复审 and 终审 of round 2
    assert document.current_revision.content_hash in text
    first_hash = document.revisions.get(number=1).content_hash
    assert first_hash[:10] in text  # what round 1 signed


def test_it_prints_the_sheet_of_a_reposted_piece(client_for, department, drafter):
    document = services.create_document(
        drafter=drafter,
        title="转发：冬季防病提示",
        body="<p>转载内容。</p>",
        department=department,
        channels=["website"],
        kind="health_education",
        source="县卫健局公众号",
    )

    text = pdf_text(client_for(drafter).get(sheet_url(document)))

    assert zh("Reposted from %(source)s", source="县卫健局公众号") in text.replace("\n", "")
    assert zh("Not yet submitted.") in text
    assert document.current_revision.content_hash in text


def test_it_is_404_for_someone_who_cannot_see_the_piece(client_for, published, outsider):
    response = client_for(outsider).get(sheet_url(published))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=LogAction.DOWNLOADED).exists()


def test_it_asks_visitors_to_log_in(client, published):
    response = client.get(sheet_url(published))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_refuses_post(client_for, published, auditor):
    assert client_for(auditor).post(sheet_url(published)).status_code == 405


def test_the_piece_page_links_to_its_sheet(client_for, published, drafter):
    response = client_for(drafter).get(published.get_absolute_url())

    assert f'href="{sheet_url(published)}"' in response.content.decode()


# The public check.


def test_it_confirms_an_unchanged_sheet_to_anyone(client_for, published, auditor):
    code = code_on(pdf_text(client_for(auditor).get(sheet_url(published))))

    response = Client().get(verify_url(code))

    assert response.status_code == 200
    assert response.context["check"].match == Match.CURRENT
    page = response.content.decode()
    assert zh("This sheet matches the record.") in page
    for expected in [TITLE, published.get_state_display(), "李信", "王建国", "陈志强", "初审", "复审", "终审"]:
        assert expected in page
    assert published.current_revision.content_hash in page
    assert f"{timezone.localdate().year}-" in page and "UTC+08:00" in page
    assert "初审同意，文字已校。" not in page  # opinions stay inside
    assert LINK not in page


def test_it_reports_an_outdated_sheet_after_a_new_round(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter, title=TITLE)
    services.approve(
        document=document, user=officer, password=PASSWORD, opinion="初审同意。", checklist=factories.answers(document)
    )
    services.return_for_changes(document=document, user=head, reason="请补充接种地点。")
    printed = code_on(pdf_text(client_for(drafter).get(sheet_url(document))))
    assert Client().get(verify_url(printed)).context["check"].match == Match.CURRENT

    services.edit_document(document=fresh(document), user=drafter, body="<p>接种地点：卫生院一楼。</p>")
    factories.submit(fresh(document))
    services.approve(
        document=fresh(document),
        user=officer,
        password=PASSWORD,
        opinion="同意。",
        checklist=factories.answers(document),
    )
    response = Client().get(verify_url(printed))

    assert response.status_code == 200
    check = response.context["check"]
    assert (check.match, check.signed_since) == (Match.OUTDATED, 1)
    page = response.content.decode()
    assert zh("This sheet is out of date.") in page
    assert fresh(document).current_revision.content_hash in page  # what the record says now
    reprinted = code_on(pdf_text(client_for(drafter).get(sheet_url(document))))
    assert reprinted != printed
    assert Client().get(verify_url(reprinted)).context["check"].match == Match.CURRENT


def test_it_answers_a_forged_code_as_if_the_piece_did_not_exist(client_for, published, auditor):
    genuine = code_on(pdf_text(client_for(auditor).get(sheet_url(published))))
    forged = f"{published.sheet_token}-0123456789"
    assert forged != genuine
    unknown = f"{'f' * 20}-0123456789"

    response = Client().get(verify_url(forged))

    assert response.status_code == 404
    assert response.context["check"] is None
    page = response.content.decode()
    assert zh(NO_SHEET) in page
    assert TITLE not in page
    assert "李信" not in page
    # The same answer as for a code of no piece at all: nothing tells that this piece exists.
    other = Client().get(verify_url(unknown))
    assert other.status_code == 404
    assert same_page(page, forged) == same_page(other.content.decode(), unknown)


@pytest.mark.parametrize("code", [f"{'9' * 20}-0123456789", "not-a-code", "0-0123456789", "12-0123456789"])
def test_it_is_404_for_an_unknown_piece(db, code):
    response = Client().get(verify_url(code))

    assert response.status_code == 404
    assert zh(NO_SHEET) in response.content.decode()


def test_it_is_404_for_the_old_piece_number_codes(client_for, published):
    # Codes once began with the piece's number, which anyone could guess; no sheet has such a code now.
    response = Client().get(verify_url(f"{published.pk}-0123456789"))

    assert response.status_code == 404
    assert TITLE not in response.content.decode()


def test_it_reads_a_code_typed_by_hand(client_for, published, auditor):
    code = code_on(pdf_text(client_for(auditor).get(sheet_url(published))))
    typed = " " + code.upper().replace("-", " - ") + " "

    response = Client().get(reverse("review:verify_lookup"), {"code": typed})

    assert response.status_code == 302
    assert response.url == verify_url(code)
    assert check_code(typed).match == Match.CURRENT


@pytest.mark.parametrize("typed", ["12/34", "李信", "12-xyz"])
def test_it_answers_a_mistyped_code_on_the_spot(db, typed):
    response = Client().get(reverse("review:verify_lookup"), {"code": typed})

    assert response.status_code == 404
    assert zh(NO_SHEET) in response.content.decode()


def test_it_offers_a_box_to_type_a_code_in(db):
    response = Client().get(reverse("review:verify_lookup"))

    assert response.status_code == 200
    assert 'name="code"' in response.content.decode()


def test_a_code_outlives_a_rotated_secret_key(client_for, published, auditor, settings):
    code = code_on(pdf_text(client_for(auditor).get(sheet_url(published))))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50

    assert check_code(code).match == Match.CURRENT
