"""Notifications: who is told of each event, in the app, by email (in their language) and in group chats; only
after the action commits; each person's choices; failed deliveries retried and visible."""

import base64
import hashlib
import hmac
import json
import urllib.parse

import pytest
from django.core import mail
from django.urls import reverse

from review import notifications, robots, services
from review.models import Delivery, Notification, NotificationSettings, Robot
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, Role, fresh, run_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run an action and what it leaves for after the commit (the notifications), as a real request would."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def told(event=None) -> list[tuple[str, str]]:
    """Return (username, event) of every notification stored, in order."""
    rows = Notification.objects.order_by("pk").select_related("recipient")
    return [(n.recipient.username, n.event) for n in rows if event is None or n.event == event]


def approve(document, reviewer):
    return services.approve(
        document=document, user=reviewer, password=PASSWORD, opinion="同意。", checklist=factories.answers(document)
    )


def test_each_event_tells_the_people_it_concerns(committed, drafter, officer, head, leader, publisher):
    document = factories.make_document(drafter=drafter)

    committed(lambda: factories.submit(document))
    assert told() == [("officer", "awaiting")]

    committed(lambda: approve(document, officer))
    assert told()[1:] == [("drafter", "passed"), ("head", "awaiting")]

    committed(lambda: services.return_for_changes(document=document, user=head, reason="请补充时间。"))
    assert told("returned") == [("drafter", "returned"), ("officer", "returned")]
    returned = Notification.objects.get(recipient=drafter, event="returned")
    assert (returned.stage, returned.reason, returned.actor_name) == ("复审", "请补充时间。", "王建国")

    committed(lambda: factories.submit(document))
    committed(lambda: approve(document, officer))
    committed(lambda: approve(document, head))
    Notification.objects.all().delete()
    committed(lambda: approve(document, leader))
    assert sorted(told()) == [
        ("drafter", "approved"), ("head", "approved"), ("officer", "approved"), ("publisher", "approved")
    ]  # fmt: skip

    Notification.objects.all().delete()
    committed(lambda: services.publish(document=document, user=publisher, channel="website"))
    assert sorted(told()) == [
        ("drafter", "published"), ("head", "published"), ("leader", "published"), ("officer", "published")
    ]  # fmt: skip


def test_a_withdrawal_tells_the_signers_and_whoever_it_waited_for(committed, drafter, officer, head):
    document = approve(factories.submitted_document(drafter=drafter), officer)

    committed(lambda: services.withdraw(document=document, user=drafter, reason="活动取消。"))

    assert sorted(told()) == [("head", "withdrawn"), ("officer", "withdrawn")]


def test_a_rejection_tells_the_drafter(committed, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    committed(lambda: services.reject(document=document, user=officer, reason="不宜发布。"))

    assert told() == [("drafter", "rejected")]


def test_nothing_is_told_of_an_action_that_did_not_commit(committed, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.Invalid):
        committed(lambda: services.return_for_changes(document=document, user=officer, reason=""))

    assert told() == []


def test_the_bell_counts_and_the_list_marks_read(committed, drafter, officer, client_for):
    document = committed(lambda: factories.submit(factories.make_document(drafter=drafter)))
    client = client_for(officer)

    page = client.get(reverse("review:notifications"))
    assert page.context["unread_count"] == 1
    assert f"“{document.title}”" in page.content.decode()
    opened = client.post(reverse("review:notification_read"), {"id": Notification.objects.get().pk})
    assert opened["Location"] == reverse("review:document", args=[document.pk]) + "#actions"
    assert Notification.objects.get().read_at is not None
    assert client.get(reverse("review:queue")).context["unread_count"] == 0


def test_someone_elses_notification_cannot_be_read(committed, drafter, officer, client_for):
    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))

    client_for(drafter).post(reverse("review:notification_read"), {"id": Notification.objects.get().pk})

    assert Notification.objects.get().read_at is None


def test_marking_read_takes_post_only(committed, drafter, officer, client_for):
    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))

    assert client_for(officer).get(reverse("review:notification_read")).status_code == 405
    assert Notification.objects.get().read_at is None


def test_the_api_lists_and_marks_read(committed, drafter, officer):
    first = committed(lambda: factories.submit(factories.make_document(drafter=drafter)))
    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))
    client = api_client(officer)

    listed = client.get("/api/v1/notifications/").json()
    assert listed["unread"] == 2
    assert [(n["event"], n["stage"]) for n in listed["results"]] == [("awaiting", "初审")] * 2
    assert listed["results"][1]["document"] == first.pk
    assert listed["results"][1]["url"] == f"/documents/{first.pk}/#actions"
    one = client.post("/api/v1/notifications/read/", {"ids": [listed["results"][1]["id"]]}, format="json")
    assert one.json() == {"unread": 1}
    assert client.post("/api/v1/notifications/read/", {}, format="json").json() == {"unread": 0}
    assert api_client(drafter).get("/api/v1/notifications/").json() == {"unread": 0, "results": []}


def test_the_api_needs_a_login(db):
    assert api_client().get("/api/v1/notifications/").status_code == 401


# Email.


def test_email_goes_in_the_readers_language_as_text_and_html(committed, drafter, officer, settings):
    settings.SITE_URL = "https://imprimatur.example.org/"
    officer.email, drafter.email = "officer@example.org", "drafter@example.org"
    officer.save()
    drafter.save()
    NotificationSettings.objects.create(user=drafter, language="en")
    document = committed(lambda: factories.submit(factories.make_document(drafter=drafter, title="流感疫苗通知")))
    committed(lambda: services.return_for_changes(document=document, user=officer, reason="请补充时间。"))

    chinese, english = mail.outbox
    link = f"https://imprimatur.example.org/documents/{document.pk}/#actions"
    assert chinese.to == ["officer@example.org"]
    assert chinese.subject == "[Imprimatur] “流感疫苗通知”等待您的初审。"
    assert link in chinese.body
    html, kind = chinese.alternatives[0]
    assert kind == "text/html" and f'href="{link}"' in html
    assert english.to == ["drafter@example.org"]
    assert english.subject == "[Imprimatur] “流感疫苗通知” was returned for changes at First review by 李信."
    assert "Reason: 请补充时间。" in english.body


def test_each_person_chooses_what_reaches_them(committed, drafter, officer, client_for):
    officer.email = "officer@example.org"
    officer.save()
    response = client_for(officer).post(
        reverse("review:notification_settings"),
        {"app_events": ["returned"], "email_events": [], "language": "zh-hans"},
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=officer).email_events == []

    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))

    assert told() == [] and mail.outbox == []


# Group robots, against a local server that checks each request as the service does.


def robot_request(received) -> tuple[dict, dict]:
    request = received[-1]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    return {key: values[0] for key, values in query.items()}, json.loads(request.body)


def make_robot(receiver, kind, secret="", **fields) -> Robot:
    return Robot.objects.create(name=f"{kind} 群", kind=kind, url=f"{receiver.url}?key=k1", secret=secret, **fields)


def test_a_dingtalk_robot_gets_a_signed_markdown_message(committed, receiver, drafter, department, settings):
    settings.SITE_URL = "https://imprimatur.example.org/"
    make_robot(receiver, "dingtalk", secret="SEC0123456789abcdef", department=department)

    document = committed(lambda: factories.submit(factories.make_document(drafter=drafter, title="义诊通知")))

    query, body = robot_request(receiver.received)
    expected = base64.b64encode(
        hmac.new(b"SEC0123456789abcdef", f"{query['timestamp']}\nSEC0123456789abcdef".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["key"] == "k1" and query["sign"] == expected  # one URL encoding, as DingTalk decodes it
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "“义诊通知”等待您的初审。"
    assert f"https://imprimatur.example.org/documents/{document.pk}/#actions" in body["markdown"]["text"]
    assert list(Delivery.objects.values_list("channel", "status", "attempt")) == [("dingtalk", "sent", 1)]


def test_a_feishu_robot_gets_a_signed_post(committed, receiver, drafter):
    make_robot(receiver, "feishu", secret="feishu-secret")

    committed(lambda: factories.submit(factories.make_document(drafter=drafter, title="义诊通知")))

    _query, body = robot_request(receiver.received)
    key = f"{body['timestamp']}\nfeishu-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    assert body["content"]["post"]["zh_cn"]["title"] == "“义诊通知”等待您的初审。"


def test_a_wecom_robot_gets_markdown_and_only_its_departments_events(committed, receiver, drafter, other_department):
    make_robot(receiver, "wecom", events=["approved"])
    make_robot(receiver, "wecom", department=other_department)

    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))

    assert receiver.received == []  # one listens for approvals only, the other serves another department


def test_a_robot_that_is_down_is_retried_and_never_blocks_the_journey(
    queue, receiver, django_capture_on_commit_callbacks, drafter, officer
):
    make_robot(receiver, "wecom", events=["awaiting"])
    receiver.script.extend([500] * notifications.MAX_ATTEMPTS)
    document = factories.submitted_document(drafter=drafter)

    with django_capture_on_commit_callbacks(execute=True):
        approved = approve(document, officer)
    run_queue(queue)

    assert fresh(approved).current_stage.name == "复审"
    deliveries = list(Delivery.objects.order_by("attempt").values_list("attempt", "status"))
    assert deliveries[-1] == (notifications.MAX_ATTEMPTS, "failed")
    assert {status for _attempt, status in deliveries[:-1]} == {"retrying"}
    later = [result.task.run_after for result in queue.results if result.task.name == "send_to_robot"]
    assert later[0] is None and all(later[1:])


def test_the_robot_requests_follow_each_services_documentation():
    message = robots.Message(title="标题", text="内容", url="https://example.org/documents/1/#actions")

    wecom = robots.request_for("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "", message)
    dingtalk, _body = robots.request_for("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=T", "", message)

    assert wecom == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K",
        {"msgtype": "markdown", "markdown": {"content": "**标题**\n\n内容\n\n[https://example.org/documents/1/#actions]"
                                                        "(https://example.org/documents/1/#actions)"}},
    )  # fmt: skip
    assert dingtalk == "https://oapi.dingtalk.com/robot/send?access_token=T"  # no secret, no signature


def test_what_people_typed_reaches_a_robot_as_text_not_markdown(committed, receiver, drafter, officer):
    make_robot(receiver, "wecom", events=["returned"])
    document = committed(lambda: factories.submit(factories.make_document(drafter=drafter, title="通知![x](http://t)")))

    committed(
        lambda: services.return_for_changes(document=document, user=officer, reason="见 [链接](http://evil) <@all>")
    )

    _query, body = robot_request(receiver.received)
    content = body["markdown"]["content"]
    assert "](http://t)" not in content and "](http://evil)" not in content and "<@all>" not in content
    assert "通知！［x］（http://t）" in content and "＜@all＞" in content
    assert f"/documents/{document.pk}/#actions)" in content  # the link the system adds stays a link


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(committed, drafter, officer):
    officer.email = "officer@example.org"
    officer.save()
    committed(lambda: factories.submit(factories.make_document(drafter=drafter, title="两行\n标题")))

    [message] = mail.outbox
    assert message.subject == "[Imprimatur] “两行 标题”等待您的初审。"


def test_marking_read_an_id_that_is_not_yours_or_not_a_number_changes_nothing(committed, drafter, officer, client_for):
    committed(lambda: factories.submit(factories.make_document(drafter=drafter)))
    client = client_for(officer)

    for bad in ("abc", " 5", "9" * 30, str(Notification.objects.get().pk + 1000)):
        assert client.post(reverse("review:notification_read"), {"id": bad}).status_code == 400
    assert Notification.objects.get().read_at is None


def test_withdrawing_a_draft_tells_no_one(committed, drafter):
    document = factories.make_document(drafter=drafter)

    committed(lambda: services.withdraw(document=document, user=drafter))

    assert told() == []


def test_an_assignment_tells_the_assignee_even_if_the_claim_changes_before_the_worker_runs(
    queue, drafter, officer, head, department, django_capture_on_commit_callbacks
):
    other = factories.make_user("officer_c", roles=[(Role.INFORMATION_OFFICER, department)])
    document = factories.submitted_document(drafter=drafter)
    with django_capture_on_commit_callbacks(execute=True):
        services.reassign(document=document, user=head, to=other)
    services.claim(document=document, user=officer)  # before the worker gets to the notification

    run_queue(queue)

    assert told("assigned") == [("officer_c", "assigned")]


def test_withdrawing_an_approved_piece_tells_the_publishers_too(committed, drafter, reviewers, publisher):
    document = factories.approved_document(*reviewers, drafter=drafter)

    committed(lambda: services.withdraw(document=document, user=drafter, reason="取消发布。"))

    assert sorted(told()) == [
        ("head", "withdrawn"), ("leader", "withdrawn"), ("officer", "withdrawn"), ("publisher", "withdrawn")
    ]  # fmt: skip


def test_withdrawing_a_returned_piece_does_not_tell_the_publishers(committed, drafter, officer, publisher):
    document = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=document, user=officer, reason="请补充。")

    committed(lambda: services.withdraw(document=document, user=drafter))

    assert told() == [("officer", "withdrawn")]
