"""The audit page: who may read it, its filters, its pages and its verdict on the chain."""

import contextlib
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction as AccountsAction
from audit import guards
from audit.labels import Action as LogAction
from audit.models import AuditEvent, Checkpoint, Verification
from audit.tasks import keep_chain
from review.models import AuditAction
from tests import factories
from tests.factories import zh

URL = reverse("review:audit")
VERIFY = reverse("review:audit_verify")
PANEL = reverse("review:audit_verification")


@pytest.fixture
def admin(db):
    user = factories.make_user("admin", display_name="系统管理员")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


@contextlib.contextmanager
def at(moment: datetime.datetime):
    """Make the audit log believe it is `moment`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


def local(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


def sequences(response) -> list[int]:
    return [event.sequence for event in response.context["page"]["rows"]]


def test_it_shows_the_log_to_auditors(client_for, auditor, drafter, officer):
    document = factories.submitted_document(drafter=drafter, title="流感疫苗接种通知")
    factories.approve_by(document, officer)
    response = client_for(auditor).get(URL)
    assert response.status_code == 200
    head = AuditEvent.objects.order_by("sequence").last()
    assert sequences(response) == list(range(head.sequence, 0, -1))
    assert head.hash in response.text
    assert "流感疫苗接种通知" in response.text
    assert reverse("review:document", args=[document.pk]) in response.text
    assert "张晓雯" in response.text
    approval = response.context["page"]["rows"][1]
    assert (approval.action, approval.actor_role, approval.data["stage"]) == (
        "approved",
        "information_officer",
        "初审",
    )
    row = response.text[response.text.index(f'id="event-{approval.sequence}"') :]
    row = row[: row.index("</tr>")]
    for shown in ("李信", factories.zh("Information officer"), factories.zh("Approved"), "初审", "同意。"):
        assert shown in row


def test_it_shows_the_log_to_superusers(client_for, admin):
    assert client_for(admin).get(URL).status_code == 200


def test_it_refuses_people_without_the_auditor_role(client_for, drafter, officer):
    assert client_for(drafter).get(URL).status_code == 403
    assert client_for(officer).get(URL).status_code == 403


def test_it_sends_visitors_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_refuses_post(client_for, auditor):
    assert client_for(auditor).post(URL).status_code == 405


def test_it_links_the_log_in_the_navigation_only_for_auditors(client_for, auditor, drafter):
    link = f'href="{URL}"'
    assert link in client_for(auditor).get(reverse("review:documents")).text
    assert link not in client_for(drafter).get(reverse("review:documents")).text


def test_it_shows_times_in_the_local_zone(client_for, auditor):
    with at(datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)):
        AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
    # 23:30 UTC is 07:30 the next morning in Shanghai.
    assert "2026-03-02 07:30:00" in client_for(auditor).get(URL).text


def test_it_filters_by_action_actor_piece_and_department(client_for, auditor, drafter, officer, outsider):
    ours = factories.submitted_document(drafter=drafter)
    theirs = factories.make_document(drafter=outsider)
    AuditEvent.objects.record(action=AccountsAction.LOGOUT, actor=officer)
    client = client_for(auditor)  # which logs the auditor in

    def shown(**query):
        response = client.get(URL, query)
        assert response.status_code == 200
        return {
            (event.action, event.actor_id, event.object_type, event.object_id)
            for event in response.context["page"]["rows"]
        }

    assert shown(action="logout") == {("logout", officer.pk, "", None)}
    assert shown(actor=officer.pk) == {("logout", officer.pk, "", None)}
    assert shown(action="login") == {("login", auditor.pk, "", None)}
    assert shown(document=theirs.pk) == {("created", outsider.pk, "review.document", theirs.pk)}
    # A department's events: its pieces', and the roles given in it.
    assert shown(department=ours.department_id) == {
        ("membership_added", None, "accounts.user", drafter.pk),
        ("membership_added", None, "accounts.user", officer.pk),
        ("created", drafter.pk, "review.document", ours.pk),
        ("submitted", drafter.pk, "review.document", ours.pk),
    }
    assert shown(department=ours.department_id, action="submitted") == {
        ("submitted", drafter.pk, "review.document", ours.pk)
    }


def test_it_filters_by_period_in_whole_local_days(client_for, auditor):
    for day in (1, 2, 3):
        # Just after midnight in Shanghai: still the day before in UTC.
        with at(local(2026, 3, day, 0, 5)):
            AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor, data={"day": day})
    response = client_for(auditor).get(URL, {"since": "2026-03-02", "until": "2026-03-02"})
    assert [event.data for event in response.context["page"]["rows"]] == [{"day": 2}]
    response = client_for(auditor).get(URL, {"since": "2026-03-02", "until": "2026-03-31"})
    assert [event.data.get("day") for event in response.context["page"]["rows"]] == [3, 2]


def test_it_refuses_a_period_that_ends_before_it_starts(client_for, auditor):
    AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
    response = client_for(auditor).get(URL, {"since": "2026-03-02", "until": "2026-03-01"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert sequences(response) == []


def test_it_pages_newest_first_by_sequence(client_for, auditor):
    client = client_for(auditor)
    for _ in range(120):
        AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()

    first = client.get(URL)
    assert sequences(first) == list(range(head, head - 50, -1))
    assert first.context["page"]["has_older"] and not first.context["page"]["has_newer"]
    assert f"before={head - 49}" in first.text

    second = client.get(URL, {"before": head - 49})
    assert sequences(second) == list(range(head - 50, head - 100, -1))
    assert second.context["page"]["has_newer"] and second.context["page"]["has_older"]

    last = client.get(URL, {"before": head - 99})
    assert sequences(last) == list(range(head - 100, 0, -1))
    assert not last.context["page"]["has_older"]

    back = client.get(URL, {"after": head - 100})
    assert sequences(back) == sequences(second)
    newest = client.get(URL, {"after": head - 10})
    assert sequences(newest) == sequences(first)


def test_it_keeps_the_filters_when_paging(client_for, auditor, drafter):
    for _ in range(60):
        AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
        AuditEvent.objects.record(action=AccountsAction.LOGOUT, actor=auditor)
    client = client_for(auditor)
    first = client.get(URL, {"action": "logout"})
    oldest_shown = sequences(first)[-1]
    assert f"action=logout&amp;before={oldest_shown}" in first.text
    second = client.get(URL, {"action": "logout", "before": oldest_shown})
    assert len(sequences(second)) == 10
    assert {event.action for event in second.context["page"]["rows"]} == {"logout"}


def test_it_reads_a_page_in_the_same_number_of_queries_however_long_the_log(client_for, auditor, drafter):
    client = client_for(auditor)
    document = factories.make_document(drafter=drafter)

    def queries(**query) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, query).status_code == 200
        return len(captured)

    client.get(URL)  # The session and permission caches settle on the first request.
    short = queries()
    for number in range(130):
        other = document if number % 2 else factories.make_document(drafter=drafter)
        AuditEvent.objects.record(action=AuditAction.EDITED, actor=drafter, obj=other)
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    assert queries() == short
    assert queries(before=head - 60) == short + 1  # plus: is there anything newer?
    assert queries(action="edited", before=head - 60) == short + 1


def test_it_shows_the_pieces_as_named_at_the_time(client_for, auditor, drafter):
    AuditEvent.objects.record(action=LogAction.REFUSED, actor=drafter, data={"attempted": "x"})
    response = client_for(auditor).get(URL)
    event = response.context["page"]["rows"][0]
    assert not getattr(event, "linkable", False)


def test_it_shows_the_workers_checkpoint_and_incremental_verification(client_for, auditor):
    client = client_for(auditor)
    page = client.get(URL)
    assert page.context["verification"] is None
    assert page.context["checkpoint"] is None

    keep_chain()  # what the worker does every minute

    page = client.get(URL)
    head = AuditEvent.objects.head()
    verification, checkpoint = page.context["verification"], page.context["checkpoint"]
    assert (verification.kind, verification.ok, verification.last_sequence) == (
        Verification.Kind.INCREMENTAL,
        True,
        head.sequence,
    )
    assert (checkpoint.number, checkpoint.sequence, checkpoint.hash) == (1, head.sequence, head.hash)
    assert page.context["last_full"] is None
    assert factories.zh("Chain intact.") in page.text


def test_it_verifies_the_whole_chain_on_demand(client_for, auditor, django_capture_on_commit_callbacks):
    AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
    client = client_for(auditor)
    page = client.get(URL)
    assert f'hx-post="{VERIFY}"' in page.text
    assert page.context["verification"] is None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = client.post(VERIFY, headers={"HX-Request": "true"})
        # The run is queued, and the panel polls it while it waits.
        assert started.status_code == 200
        assert 'id="verification"' in started.text
        assert f'hx-get="{PANEL}"' in started.text
        assert started.context["running"].kind == Verification.Kind.FULL
    assert len(callbacks) == 1

    run = Verification.objects.get()
    assert (run.kind, run.status, run.ok, run.requested_by) == (
        Verification.Kind.FULL,
        Verification.Status.DONE,
        True,
        auditor,
    )
    head = AuditEvent.objects.head()
    assert (run.first_sequence, run.last_sequence, run.last_hash) == (1, head.sequence, head.hash)
    panel = client.get(PANEL, headers={"HX-Request": "true"})
    assert panel.context["verification"] == run
    assert panel.context["last_full"] == run
    assert panel.context["running"] is None
    assert f'hx-get="{PANEL}"' not in panel.text
    # The page shows the newest verification at once.
    assert client.get(URL).context["verification"] == run


def test_it_starts_one_full_verification_at_a_time(client_for, auditor, django_capture_on_commit_callbacks):
    waiting = Verification.objects.create(kind=Verification.Kind.FULL, requested_by=auditor)
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(VERIFY)
    assert response.status_code == 302
    assert response.url == URL
    assert callbacks == []
    assert list(Verification.objects.all()) == [waiting]


def test_it_reports_a_broken_chain_when_asked_to_verify(client_for, auditor, django_capture_on_commit_callbacks):
    for _ in range(3):
        AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor)
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(VERIFY)
    assert client.get(URL).context["verification"].ok is True
    guards.remove(connection)
    try:
        AuditEvent.objects.filter(sequence=2).update(comment="改过了")
    finally:
        guards.install(connection)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(VERIFY)
    page = client.get(URL)
    verdict = page.context["verification"]
    assert (verdict.kind, verdict.ok, verdict.bad_sequence) == (Verification.Kind.FULL, False, 2)
    assert verdict.problem == "its content does not match its hash"
    assert factories.zh("Chain broken at event %(sequence)s.", sequence=2) in page.text


def test_it_refuses_verification_to_people_without_the_auditor_role(client_for, drafter):
    client = client_for(drafter)
    assert client.post(VERIFY).status_code == 403
    assert client.get(PANEL).status_code == 403
    assert not Verification.objects.exists()
    assert not Checkpoint.objects.exists()


def test_it_starts_verification_by_post_only(client_for, auditor):
    assert client_for(auditor).get(VERIFY).status_code == 405
    assert not Verification.objects.exists()


def test_the_piece_filter_takes_its_title_too(client_for, auditor, drafter):
    flu = factories.make_document(drafter=drafter, title="流感疫苗接种通知")
    factories.make_document(drafter=drafter, title="义诊活动通知")
    factories.make_document(drafter=drafter, title="义诊活动预告")
    client = client_for(auditor)

    by_title = client.get(URL, {"document": "流感疫苗接种通知"})
    by_part = client.get(URL, {"document": "流感疫苗"})
    several = client.get(URL, {"document": "义诊活动"})
    nothing = client.get(URL, {"document": "没有这篇"})

    for response in (by_title, by_part):
        assert {event.object_id for event in response.context["page"]["rows"]} == {flu.pk}
    assert not several.context["page"]["rows"] and 'value="义诊活动"' in several.text
    assert zh("No piece has this title.") in nothing.text and not nothing.context["page"]["rows"]
