"""Queues for every role: search and filters on the pieces list, what each role waits on counted in the
navigation, what a reviewer decided recently, and the publisher's queue with several pieces published at once."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from review import services
from review.models import Document, Publication
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import fresh

pytestmark = pytest.mark.django_db

DOCUMENTS = reverse("review:documents")
PUBLISH = reverse("review:publish_queue")


def now() -> str:
    return f"{timezone.localtime():%Y-%m-%dT%H:%M}"


def listed(response) -> list[str]:
    return [document.title for document in response.context["page"].object_list]


def test_it_searches_titles_and_text(drafter, client_for):
    factories.make_document(drafter=drafter, title="流感疫苗接种通知")
    factories.make_document(drafter=drafter, title="义诊活动", body="<p>免费测量血压和血糖。</p>")
    factories.make_document(drafter=drafter, title="门诊时间调整")
    client = client_for(drafter)

    assert listed(client.get(DOCUMENTS, {"q": "疫苗"})) == ["流感疫苗接种通知"]
    assert listed(client.get(DOCUMENTS, {"q": "血糖"})) == ["义诊活动"]
    assert listed(client.get(DOCUMENTS, {"q": "不存在的词"})) == []


def test_it_filters_by_department_channel_state_period_and_lateness(
    drafter, officer, client_for, department, other_department
):
    weibo = factories.submitted_document(drafter=drafter, title="微博稿", channels=["weibo"])
    late = factories.submitted_document(
        drafter=drafter, title="逾期稿", due_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    factories.make_document(drafter=drafter, title="草稿", channels=["website"])
    client = client_for(drafter)

    assert listed(client.get(DOCUMENTS, {"channel": "weibo"})) == [weibo.title]
    assert set(listed(client.get(DOCUMENTS, {"state": "in_review"}))) == {weibo.title, late.title}
    assert listed(client.get(DOCUMENTS, {"overdue": "1"})) == [late.title]
    assert listed(client.get(DOCUMENTS, {"department": other_department.pk})) == []
    assert len(listed(client.get(DOCUMENTS, {"department": department.pk}))) == 3
    today = timezone.localdate().isoformat()
    assert len(listed(client.get(DOCUMENTS, {"since": today, "until": today}))) == 3
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert listed(client.get(DOCUMENTS, {"since": tomorrow})) == []


def test_a_bad_filter_says_why_and_lists_nothing(drafter, client_for):
    factories.make_document(drafter=drafter)

    response = client_for(drafter).get(DOCUMENTS, {"since": "2026-13-45", "q": "通知"})

    assert response.status_code == 400
    assert listed(response) == []
    assert 'value="通知"' in response.content.decode()  # what was typed stays


def test_the_pager_keeps_the_filters(drafter, client_for):
    for n in range(27):
        factories.make_document(drafter=drafter, title=f"通知{n}")

    page = client_for(drafter).get(DOCUMENTS, {"q": "通知", "mine": "1"}).content.decode()

    assert "?q=%E9%80%9A%E7%9F%A5&amp;mine=1&amp;page=2" in page


def test_the_navigation_counts_what_each_role_waits_on(drafter, officer, head, leader, publisher, client_for):
    approved = factories.approved_document(officer, head, leader, drafter=drafter)
    returned = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=returned, user=officer, reason="请补充。")

    assert client_for(publisher).get(DOCUMENTS).context["publish_count"] == 1
    assert client_for(drafter).get(DOCUMENTS).context["returned_count"] == 1
    assert fresh(approved).state == Document.State.APPROVED


def test_the_queue_shows_what_i_decided_recently(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter, title="已审稿件")
    factories.approve_by(document, officer)

    page = client_for(officer).get(reverse("review:queue"))

    assert [review.document.title for review in page.context["decided"]] == ["已审稿件"]


def test_the_publisher_sees_by_channel_and_publishes_several_at_once(drafter, reviewers, publisher, client_for):
    first = factories.approved_document(*reviewers, drafter=drafter, title="第一篇", channels=["website", "wechat"])
    second = factories.approved_document(*reviewers, drafter=drafter, title="第二篇", channels=["website"])
    only_weibo = factories.approved_document(*reviewers, drafter=drafter, title="只发微博", channels=["weibo"])
    client = client_for(publisher)

    page = client.get(PUBLISH)
    groups = {code: [d.title for d in documents] for code, _label, documents in page.context["groups"]}
    assert groups == {"website": ["第一篇", "第二篇"], "wechat": ["第一篇"], "weibo": ["只发微博"]}

    before = AuditEvent.objects.count()
    response = client.post(
        PUBLISH,
        {"documents": [first.pk, second.pk, only_weibo.pk], "channel": "website", "published_at": now()},
        follow=True,
    )

    assert sorted((p.document.title, p.channel) for p in Publication.objects.all()) == [
        ("第一篇", "website"), ("第二篇", "website")
    ]  # fmt: skip
    assert AuditEvent.objects.filter(sequence__gt=before, action="published").count() == 2
    assert any("只发微博" in message for message in factories.messages_of(response))  # refused, and named
    groups = {code: [d.title for d in documents] for code, _label, documents in response.context["groups"]}
    assert groups == {"wechat": ["第一篇"], "weibo": ["只发微博"]}


def test_someone_else_cannot_publish_through_the_queue(drafter, reviewers, officer, client_for):
    document = factories.approved_document(*reviewers, drafter=drafter)

    response = client_for(officer).post(
        PUBLISH, {"documents": [document.pk], "channel": "website", "published_at": now()}
    )

    assert response.status_code == 400  # not a piece they may publish
    assert not Publication.objects.exists()


def test_the_publish_queue_takes_a_constant_number_of_queries(drafter, reviewers, publisher, client_for):
    client = client_for(publisher)
    factories.approved_document(*reviewers, drafter=drafter)
    client.get(PUBLISH)
    with CaptureQueriesContext(connection) as few:
        client.get(PUBLISH)
    for _n in range(5):
        factories.approved_document(*reviewers, drafter=drafter)
    with CaptureQueriesContext(connection) as many:
        client.get(PUBLISH)

    assert len(many) == len(few)


def test_the_api_searches_and_filters_like_the_page(drafter, officer):
    factories.submitted_document(drafter=drafter, title="流感疫苗", channels=["weibo"])
    factories.make_document(drafter=drafter, title="义诊活动", body="<p>免费测量血糖。</p>")
    client = api_client(drafter)

    def titles(**query):
        response = client.get("/api/v1/documents/", query)
        assert response.status_code == 200, response.json()
        return sorted(row["title"] for row in response.json()["results"])

    assert titles(q="血糖") == ["义诊活动"]
    assert titles(channel="weibo") == ["流感疫苗"]
    assert titles(mine="true", state="draft") == ["义诊活动"]
    assert titles(since=timezone.localdate().isoformat()) == ["义诊活动", "流感疫苗"]
    assert client.get("/api/v1/documents/", {"since": "2026-13-45"}).status_code == 400
    assert titles(overdue="true") == []


def test_the_api_lists_the_publish_queue_by_channel(drafter, reviewers, publisher, officer):
    first = factories.approved_document(*reviewers, drafter=drafter, title="第一篇", channels=["website", "wechat"])
    factories.approved_document(*reviewers, drafter=drafter, title="只发微博", channels=["weibo"])
    factories.submitted_document(drafter=drafter, title="还在审核", channels=["website"])
    services.publish(document=first, user=publisher, channel="website")

    queue = api_client(publisher).get("/api/v1/publish-queue/")

    assert queue.status_code == 200
    assert [(group["channel"], [d["title"] for d in group["documents"]]) for group in queue.json()] == [
        ("wechat", ["第一篇"]), ("weibo", ["只发微博"]),
    ]  # fmt: skip
    assert api_client(officer).get("/api/v1/publish-queue/").json() == []  # not a publisher: nothing to publish
    assert api_client().get("/api/v1/publish-queue/").status_code == 401
