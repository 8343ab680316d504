"""The publication register (登记造册): who may keep it, what it lists, and its CSV, XLSX and PDF downloads."""

import contextlib
import csv
import datetime
import io
import zoneinfo

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.labels import Action as LogAction
from review import services
from review.views import register as register_views
from tests import factories
from tests.factories import PASSWORD, last_event, payload, zh

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
REGISTER = reverse("review:register")


def download_url(fmt: str) -> str:
    return reverse("review:register_download", args=[fmt])


def at(day: int, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, 30, tzinfo=SHANGHAI)


@contextlib.contextmanager
def clock(moment: datetime.datetime):
    """Make the application believe it is `moment` (a piece cannot go out before it was written, nor later
    than tomorrow: the register's pieces are written, signed and published at their publication time)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


@pytest.fixture
def publish(drafter, officer, head, leader, publisher):
    """Return a function that takes a new piece through its three reviews and publishes it."""

    def make(title: str, published_at: datetime.datetime, *, channel="wechat", url="https://mp.weixin.qq.com/s/1"):
        with clock(published_at):
            document = factories.approved_document(officer, head, leader, drafter=drafter, title=title)
            return services.publish(
                document=document, user=publisher, channel=channel, url=url, published_at=published_at
            )

    return make


@pytest.fixture
def register(publish):
    """Three publications in March 2026, in the order they went out."""
    return [
        publish("春季传染病防控提示", at(2), channel="website", url="https://clinic.example.org/news/1"),
        publish("三月健康讲座通知", at(15)),
        publish('=HYPERLINK("http://evil.example","点击")', at(28, 23)),
    ]


@pytest.fixture
def superuser(db):
    return factories.make_user("root", display_name="系统管理员")


def test_it_lists_every_publication_with_its_signers(client_for, register, auditor):
    response = client_for(auditor).get(REGISTER)

    assert response.status_code == 200
    assert list(response.context["page"]) == register[::-1]  # newest first
    page = response.content.decode()
    for expected in ["春季传染病防控提示", "三月健康讲座通知", "公共卫生科", "张晓雯"]:
        assert expected in page
    for signer in ["初审 李信", "复审 王建国", "终审 陈志强"]:
        assert signer in page
    assert "https://clinic.example.org/news/1" in page
    assert zh("WeChat official account") in page
    assert "2026-03-28 23:30" in page


def test_it_names_the_signers_of_the_round_that_was_published(client_for, drafter, officer, head, leader, publisher):
    with clock(at(5)):
        document = factories.submitted_document(drafter=drafter, title="复诊须知")
        services.approve(
            document=document, user=officer, password=PASSWORD, opinion="同意。", checklist=factories.answers(document)
        )
        services.return_for_changes(document=document, user=head, reason="请补充时间。")
        services.edit_document(document=factories.fresh(document), user=drafter, body="<p>每周二复诊。</p>")
        factories.submit(factories.fresh(document))
        factories.approve_by(factories.fresh(document), officer, head, leader)
        publication = services.publish(
            document=factories.fresh(document), user=publisher, channel="website", url="", published_at=at(5)
        )

    assert [(review.round, review.meaning) for review in publication.signatures()] == [
        (2, "初审"),
        (2, "复审"),
        (2, "终审"),
    ]


def test_it_filters_by_period(client_for, register, publisher):
    response = client_for(publisher).get(REGISTER, {"since": "2026-03-10", "until": "2026-03-28"})

    assert list(response.context["page"]) == [register[2], register[1]]
    assert "since=2026-03-10&amp;until=2026-03-28" in response.content.decode()  # the downloads keep the period


def test_it_counts_whole_local_days(client_for, publish, auditor):
    late = publish("夜间发布", datetime.datetime(2026, 3, 31, 23, 50, tzinfo=SHANGHAI))

    response = client_for(auditor).get(REGISTER, {"since": "2026-03-31", "until": "2026-03-31"})

    assert list(response.context["page"]) == [late]  # 15:50 UTC, but 31 March in the clinic


def test_it_refuses_a_period_that_ends_before_it_starts(client_for, register, auditor):
    backwards = {"since": "2026-03-28", "until": "2026-03-01"}
    client = client_for(auditor)

    response = client.get(REGISTER, backwards)

    assert list(response.context["page"]) == []
    assert zh("The start of the period comes after its end.") in response.content.decode()
    assert client.get(download_url("csv"), backwards).status_code == 400


def test_it_pages_the_register(client_for, register, auditor, monkeypatch):
    monkeypatch.setattr(register_views, "PAGE_SIZE", 2)

    first = client_for(auditor).get(REGISTER, {"since": "2026-03-01"})
    second = client_for(auditor).get(REGISTER, {"since": "2026-03-01", "page": 2})

    assert list(first.context["page"]) == [register[2], register[1]]
    assert list(second.context["page"]) == [register[0]]
    assert "since=2026-03-01&amp;page=2" in first.content.decode()


def test_it_reads_the_register_in_a_fixed_number_of_queries(client_for, publish, auditor):
    client = client_for(auditor)
    publish("第一篇", at(1))
    client.get(REGISTER)  # warm up the session and the permission caches
    with CaptureQueriesContext(connection) as one:
        client.get(REGISTER)
    for day in range(2, 7):
        publish(f"第{day}篇", at(day))
    with CaptureQueriesContext(connection) as six:
        response = client.get(REGISTER)

    assert len(response.context["page"]) == 6
    assert len(six) == len(one)


@pytest.mark.parametrize("persona", ["auditor", "publisher", "superuser"])
def test_auditors_publishers_and_superusers_keep_the_register(client_for, request, persona):
    user = request.getfixturevalue(persona)
    if persona == "superuser":
        user.is_superuser = True
        user.save()

    response = client_for(user).get(REGISTER)

    assert response.status_code == 200
    assert f'href="{REGISTER}"' in response.content.decode()  # the link in the top bar


@pytest.mark.parametrize("persona", ["drafter", "officer", "leader"])
def test_others_get_403(client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(REGISTER).status_code == 403
    assert client.get(download_url("csv")).status_code == 403
    assert f'href="{REGISTER}"' not in client.get(reverse("review:documents")).content.decode()


def test_it_asks_visitors_to_log_in(client):
    response = client.get(REGISTER)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_refuses_post_and_unknown_formats(client_for, auditor):
    client = client_for(auditor)

    assert client.post(REGISTER).status_code == 405
    assert client.post(download_url("csv")).status_code == 405
    assert client.get(download_url("docx")).status_code == 404


# Downloads.


def test_it_downloads_csv_with_a_bom_and_formulas_neutralised(client_for, register, auditor):
    response = client_for(auditor).get(download_url("csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="publication-register-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[0] == zh("No.")
    assert zh("Published at (%(zone)s)", zone="Asia/Shanghai") in header
    assert len(rows) == 3
    # Oldest first, numbered, as a register book is kept.
    assert [row[0] for row in rows] == ["1", "2", "3"]
    number, published_at, channel, link, title, department, drafter, signers, publisher, piece = rows[0]
    assert published_at == "2026-03-02T09:30+08:00"
    assert (channel, link, title) == (zh("Website"), "https://clinic.example.org/news/1", "春季传染病防控提示")
    assert (department, drafter, publisher) == ("公共卫生科", "张晓雯", "赵敏")
    assert signers == "初审 李信; 复审 王建国; 终审 陈志强"
    assert piece == str(register[0].document.pk)
    assert rows[2][4] == '\'=HYPERLINK("http://evil.example","点击")'


def test_it_records_each_download(client_for, register, auditor):
    client = client_for(auditor)
    for fmt in ["csv", "xlsx", "pdf"]:
        client.get(download_url(fmt), {"since": "2026-03-10"})

        assert payload(last_event()) == {
            "action": LogAction.DOWNLOADED,
            "actor": auditor,
            "actor_name": "孙丽",
            "actor_role": "",
            "from_state": "",
            "to_state": "",
            "comment": "",
            "data": {"format": f"register_{fmt}", "filters": {"since": "2026-03-10"}, "rows": 2},
        }


def test_it_downloads_xlsx_with_real_dates_and_text_that_stays_text(client_for, register, publisher):
    response = client_for(publisher).get(download_url("xlsx"))

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[0] == zh("No.")
    assert sheet.max_row == 4
    assert rows[0][:3] == (1, datetime.datetime(2026, 3, 2, 9, 30), zh("Website"))
    assert rows[0][4:8] == ("春季传染病防控提示", "公共卫生科", "张晓雯", "初审 李信; 复审 王建国; 终审 陈志强")
    assert [row[0] for row in rows] == [1, 2, 3]
    assert rows[2][4] == '=HYPERLINK("http://evil.example","点击")'
    assert sheet.cell(row=4, column=5).data_type == "s"  # a string, never a formula
    assert sheet.auto_filter.ref == "A1:J4"


def test_it_downloads_the_register_as_pdf(client_for, register, auditor):
    response = client_for(auditor).get(download_url("pdf"), {"since": "2026-03-10"})

    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = text.replace("\n", "")
    assert zh("Publication register") in text
    assert "三月健康讲座通知" in flat
    assert "春季传染病防控提示" not in flat  # published before the period
    assert "李信" in text and "王建国" in text and "陈志强" in text
    assert "2026-03-15" in text
    assert zh("Page %(page)s", page=1) in text and zh("of %(pages)s", pages=len(reader.pages)) in text
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape


def test_it_downloads_an_empty_register(client_for, auditor):
    response = client_for(auditor).get(download_url("pdf"))

    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert zh("No publications in this period.") in text
