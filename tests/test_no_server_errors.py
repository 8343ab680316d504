"""No input gives a server error, and every API error is JSON.

Each case here once answered 500, an HTML page under /api/, or a truncated download.
"""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from audit import exports
from audit.models import AuditEvent
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = [{"until": "9999-12-31"}, {"since": "0001-01-01"}, {"since": "0001-01-01", "until": "9999-12-31"}]


def assert_json(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


@pytest.mark.parametrize("period", OUT_OF_RANGE)
def test_the_audit_page_explains_a_day_out_of_range(client_for, auditor, period):
    response = client_for(auditor).get(reverse("review:audit"), period)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "1900-01-01" in response.content.decode()


def test_the_audit_page_takes_the_first_and_last_days_it_allows(client_for, auditor):
    AuditEvent.objects.record(action="tested")

    response = client_for(auditor).get(reverse("review:audit"), {"since": "1900-01-01", "until": "9998-12-31"})

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert len(response.context["page"]["rows"]) == AuditEvent.objects.count()


@pytest.mark.parametrize("period", OUT_OF_RANGE)
def test_the_api_answers_a_day_out_of_range_with_400(auditor, period):
    client = api_client(auditor)

    assert set(assert_json(client.get("/api/v1/audit/", period), 400)) <= {"since", "until"}
    assert set(assert_json(client.get("/api/v1/audit/export", {"format": "csv", **period}), 400)) <= {"since", "until"}


def test_a_whole_export_up_to_the_last_day_allowed_streams_completely(auditor):
    for number in range(3):
        AuditEvent.objects.record(action="tested", data={"n": number})

    response = api_client(auditor).get("/api/v1/audit/export", {"format": "jsonl", "until": "9998-12-31"})

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    # Every event up to the head, the record of this download included.
    assert [json.loads(line)["sequence"] for line in lines] == list(range(1, AuditEvent.objects.count() + 1))


@pytest.mark.parametrize("period", OUT_OF_RANGE)
def test_a_web_export_of_a_day_out_of_range_is_refused_with_a_message(client_for, auditor, period):
    response = client_for(auditor).post(reverse("review:audit_export_create"), {"format": "csv", **period}, follow=True)

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        factories.zh("Choose a format and a valid period to download.")
    ]


def test_the_export_command_refuses_a_day_out_of_range_and_writes_nothing(tmp_path):
    output = tmp_path / "log.csv"

    with pytest.raises(CommandError, match="1900-01-01"):
        call_command("export_audit", "--format", "csv", "--output", str(output), "--until", "9999-12-31")

    assert list(tmp_path.iterdir()) == []


def test_an_export_that_fails_part_way_leaves_no_file_behind(tmp_path, monkeypatch):
    AuditEvent.objects.record(action="tested")
    output = tmp_path / "log.jsonl"

    def fail_after_a_chunk(format, events, out, **kwargs):
        out.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_export", fail_after_a_chunk)
    with pytest.raises(CommandError, match="disk full"):
        call_command("export_audit", "--format", "jsonl", "--output", str(output))

    assert list(tmp_path.iterdir()) == []


def test_the_export_command_replaces_a_file_only_once_complete(tmp_path):
    output = tmp_path / "log.csv"
    output.write_text("the previous export")

    call_command("export_audit", "--format", "csv", "--output", str(output))

    assert output.read_bytes().startswith(exports.UTF8_BOM)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["log.csv", "log.csv.manifest.json"]
    assert json.loads(Path(f"{output}.manifest.json").read_text())["file"] == "log.csv"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/?q=%00",
        "/admin/review/document/?title=%00x",
        "/documents/?state=%00",
        "/audit/?action=a%00",
    ],
)
def test_a_nul_character_in_a_query_is_a_400(client_for, path):
    admin = factories.make_user("root")
    admin.is_superuser = admin.is_staff = True
    admin.save()

    response = client_for(admin).get(path)

    assert response.status_code == 400


def test_a_nul_character_in_an_api_query_is_a_json_400(officer):
    assert "NUL" in assert_json(api_client(officer).get("/api/v1/documents/", {"state": "\x00"}), 400)["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/documents/abc/",
        "/api/v1/documents/1.5/submit/",
        "/api/v1/no-such-thing/",
        "/api/v2/documents/",
    ],
)
def test_an_address_under_the_api_that_names_nothing_is_a_json_404(officer, path):
    assert_json(api_client(officer).get(path), 404)
    assert_json(api_client(officer).post(path, {}, format="json"), 404)


def test_an_id_too_large_for_the_database_is_a_json_404(officer):
    assert_json(api_client(officer).get("/api/v1/documents/99999999999999999999999/"), 404)
    assert_json(api_client(officer).post("/api/v1/documents/99999999999999999999999/submit/"), 404)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99999999999999999999"])
def test_a_page_number_that_is_not_one_is_a_json_400(officer, page):
    assert list(assert_json(api_client(officer).get("/api/v1/documents/", {"page": page}), 400)) == ["page"]


def test_a_page_past_the_last_is_a_json_404(officer):
    assert_json(api_client(officer).get("/api/v1/documents/", {"page": "2"}), 404)


def test_a_body_too_large_is_a_json_413(drafter, department):
    body = json.dumps({"title": "x", "body": "字" * 4_000_000, "department": department.pk, "channels": ["website"]})

    response = api_client(drafter).post("/api/v1/documents/", body, content_type="application/json")

    assert_json(response, 413)
    assert not drafter.drafted_documents.exists()


@pytest.mark.parametrize("value", [1.5, "1.5", True, "1e0", [1], {"id": 1}])
def test_a_department_must_be_named_by_a_whole_number(drafter, department, value):
    body = {"title": "通知", "body": "<p>内容</p>", "department": value, "channels": ["website"]}

    response = api_client(drafter).post("/api/v1/documents/", body, format="json")

    assert list(assert_json(response, 400)) == ["department"]
    assert not drafter.drafted_documents.exists()


@pytest.mark.parametrize("value", [1.5, True, "abc"])
def test_a_review_id_must_be_a_whole_number(drafter, officer, value):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).post(
        f"/api/v1/documents/{document.pk}/return/", {"reason": "请修改。", "review": value}, format="json"
    )

    assert list(assert_json(response, 400)) == ["review"]
    assert factories.fresh(document).state == document.State.IN_REVIEW
