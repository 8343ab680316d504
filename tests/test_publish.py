import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import services
from review.models import AuditAction, Document, Publication, StageReview
from tests import factories
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LINK = "https://example.org/news/flu-vaccine"


def url(name, document):
    return reverse(f"review:document_{name}", args=[document.pk])


def this_minute() -> datetime.datetime:
    """Return the current minute in Shanghai: a publication time after the test's piece was written, not ahead."""
    return timezone.now().astimezone(SHANGHAI).replace(second=0, microsecond=0)


def publish_data(channel="website", published_at: datetime.datetime | None = None):
    when = (published_at or this_minute()).astimezone(SHANGHAI)
    return {"channel": channel, "url": LINK, "published_at": f"{when:%Y-%m-%dT%H:%M}"}


@pytest.fixture
def approved(drafter, officer, head, leader):
    return factories.approved_document(officer, head, leader, drafter=drafter, channels=["website", "wechat"])


def test_it_takes_a_piece_from_draft_to_published(client_for, department, drafter, officer, head, leader, publisher):
    drafting = client_for(drafter)
    drafting.post(
        reverse("review:document_create"),
        {
            "title": "秋冬季流感疫苗接种通知",
            "department": department.pk,
            "kind": "notice",
            "channels": ["website", "wechat"],
            "body": "<p>接种时间：每周二上午。</p>",
        },
    )
    document = Document.objects.get()
    drafting.post(url("submit", document))
    for reviewer, opinion in [(officer, "初审同意。"), (head, "复审同意。"), (leader, "同意发布。")]:
        response = client_for(reviewer).post(
            url("approve", document),
            {
                "password": PASSWORD,
                "review": current_review(document).pk,
                "opinion": opinion,
                **factories.checklist_form(document),
            },
        )
        assert response.status_code == 302
    assert fresh(document).state == Document.State.APPROVED

    published_at = this_minute()
    response = client_for(publisher).post(url("publish", document), publish_data(published_at=published_at))

    assert response.status_code == 302
    assert response.url == document.get_absolute_url()
    document = fresh(document)
    assert document.state == Document.State.PUBLISHED
    publication = Publication.objects.get()
    assert (publication.document, publication.channel, publication.url) == (document, "website", LINK)
    assert (publication.published_at, publication.publisher) == (published_at, publisher)
    assert publication.revision == document.current_revision
    assert payload(last_event(document)) == {
        "action": AuditAction.PUBLISHED,
        "actor": publisher,
        "actor_name": "赵敏",
        "actor_role": "",
        "from_state": Document.State.APPROVED,
        "to_state": Document.State.PUBLISHED,
        "comment": "",
        "data": {"channel": "website", "url": LINK, "published_at": f"{published_at:%Y-%m-%dT%H:%M}:00+08:00"},
    }
    events = AuditEvent.objects.about(document).order_by("sequence")
    assert [(event.action, event.data.get("stage", "")) for event in events] == [
        (AuditAction.CREATED, ""),
        (AuditAction.SUBMITTED, "初审"),
        (AuditAction.APPROVED, "初审"),
        (AuditAction.APPROVED, "复审"),
        (AuditAction.APPROVED, "终审"),
        (AuditAction.PUBLISHED, ""),
    ]


def test_it_records_a_second_channel(client_for, approved, publisher):
    client = client_for(publisher)
    client.post(url("publish", approved), publish_data("website"))

    response = client.post(url("publish", approved), publish_data("wechat"))

    assert response.status_code == 302
    assert fresh(approved).state == Document.State.PUBLISHED
    assert sorted(Publication.objects.values_list("channel", flat=True)) == ["website", "wechat"]
    event = last_event(approved)
    assert (event.from_state, event.to_state, event.data["channel"]) == ("published", "published", "wechat")


def test_it_refuses_a_channel_that_was_not_approved(client_for, approved, publisher):
    response = client_for(publisher).post(url("publish", approved), publish_data("weibo"))

    assert response.status_code == 400
    assert "channel" in response.context["publish_form"].errors
    assert fresh(approved).state == Document.State.APPROVED
    assert not Publication.objects.exists()
    with pytest.raises(services.Invalid) as refused:
        services.publish(
            document=approved, user=publisher, channel="weibo", url="", published_at=datetime.datetime.now(SHANGHAI)
        )
    assert (refused.value.field, refused.value.message) == (
        "channel",
        zh("This channel was not approved for the piece."),
    )
    assert fresh(approved).state == Document.State.APPROVED
    assert not Publication.objects.exists()


def test_it_requires_the_time(client_for, approved, publisher):
    response = client_for(publisher).post(url("publish", approved), {"channel": "website", "url": LINK})

    assert response.status_code == 400
    assert "published_at" in response.context["publish_form"].errors
    assert not Publication.objects.exists()


@pytest.mark.parametrize(
    ("moved", "message"),
    [
        (-datetime.timedelta(days=30), "The piece did not exist yet at that time."),
        (datetime.timedelta(days=3), "That time is in the future; record a publication once it is out."),
    ],
)
def test_it_refuses_a_time_before_the_piece_or_in_the_future(client_for, approved, publisher, moved, message):
    before = last_event(approved).sequence

    response = client_for(publisher).post(url("publish", approved), publish_data(published_at=this_minute() + moved))

    assert response.status_code == 400
    assert response.context["publish_form"].errors["published_at"] == [zh(message)]
    assert fresh(approved).state == Document.State.APPROVED
    assert not Publication.objects.exists()
    # An input error the publisher simply corrects: nothing is written to the audit log.
    assert last_event(approved).sequence == before
    with pytest.raises(services.Invalid) as refused:
        services.publish(document=approved, user=publisher, channel="website", published_at=this_minute() + moved)
    assert (refused.value.field, refused.value.message) == ("published_at", zh(message))


def test_it_refuses_get(client_for, approved, publisher):
    assert client_for(publisher).get(url("publish", approved)).status_code == 405
    assert fresh(approved).state == Document.State.APPROVED


def test_it_refuses_someone_who_is_not_a_publisher(client_for, approved, drafter, leader):
    response = client_for(leader).post(url("publish", approved), publish_data())

    assert response.status_code == 403
    assert fresh(approved).state == Document.State.APPROVED
    assert not Publication.objects.exists()
    assert payload(last_event(approved)) == {
        "action": LogAction.REFUSED,
        "actor": leader,
        "actor_name": "陈志强",
        "actor_role": "",
        "from_state": Document.State.APPROVED,
        "to_state": Document.State.APPROVED,
        "comment": "",
        "data": factories.refused("publish", "You are not a publisher for this piece."),
    }
    assert client_for(drafter).post(url("publish", approved), publish_data()).status_code == 403


def test_it_hides_the_piece_from_another_departments_publisher(client_for, approved, other_department, outsider):
    their_publisher = factories.make_user(roles=[(Role.PUBLISHER, other_department)])

    assert client_for(their_publisher).post(url("publish", approved), publish_data()).status_code == 404
    assert client_for(outsider).post(url("publish", approved), publish_data()).status_code == 404
    assert fresh(approved).state == Document.State.APPROVED


def test_it_lets_the_departments_own_publisher_publish(client_for, approved, department):
    own_publisher = factories.make_user(roles=[(Role.PUBLISHER, department)])

    response = client_for(own_publisher).post(url("publish", approved), publish_data())

    assert response.status_code == 302
    assert fresh(approved).state == Document.State.PUBLISHED


def test_it_refuses_a_piece_that_is_not_approved(client_for, drafter, officer, head, publisher):
    document = factories.approved_document(officer, head, drafter=drafter)

    # The publisher does not even see a piece still in review.
    assert client_for(publisher).post(url("publish", document), publish_data()).status_code == 404
    response = client_for(drafter).post(url("publish", document), publish_data(), follow=True)

    reason = zh("Only an approved piece can be marked published.")
    assert factories.messages_of(response) == [reason]
    assert fresh(document).state == Document.State.IN_REVIEW
    assert not Publication.objects.exists()
    event = last_event(document)
    assert (event.action, event.actor, event.data) == (
        LogAction.REFUSED,
        drafter,
        factories.refused("publish", "Only an approved piece can be marked published."),
    )
    with pytest.raises(services.Conflict):
        services.publish(
            document=document, user=publisher, channel="website", url="", published_at=datetime.datetime.now(SHANGHAI)
        )


def test_it_needs_the_principal_leader_for_a_major_matter(
    client_for, drafter, officer, head, leader, principal, publisher
):
    document = factories.approved_document(officer, head, leader, drafter=drafter, is_major=True)

    assert (fresh(document).state, fresh(document).current_stage.name) == (Document.State.IN_REVIEW, "审定")
    assert client_for(publisher).post(url("publish", document), publish_data()).status_code == 404
    assert client_for(leader).post(url("approve", document)).status_code == 403

    review = current_review(document)
    response = client_for(principal).post(
        url("approve", document),
        {"password": PASSWORD, "review": review.pk, "opinion": "同意。", **factories.checklist_form(document)},
    )

    assert response.status_code == 302
    document = fresh(document)
    assert document.state == Document.State.APPROVED
    review.refresh_from_db()
    assert (review.decision, review.signer_name, review.signer_role, review.meaning) == (
        StageReview.Decision.APPROVED,
        "刘德明",
        Role.PRINCIPAL_LEADER,
        "审定",
    )
    event = last_event(document)
    assert (event.action, event.actor, event.data["stage"], event.to_state) == (
        AuditAction.APPROVED,
        principal,
        "审定",
        Document.State.APPROVED,
    )
    assert client_for(publisher).post(url("publish", document), publish_data()).status_code == 302
    assert fresh(document).state == Document.State.PUBLISHED


def test_it_records_each_channel_once(client_for, drafter, officer, head, leader, publisher):
    document = factories.approved_document(officer, head, leader, drafter=drafter)
    services.publish(
        document=document, user=publisher, channel="website", url="https://example.org/a", published_at=timezone.now()
    )

    with pytest.raises(services.Conflict):
        services.publish(
            document=document,
            user=publisher,
            channel="website",
            url="https://example.org/b",
            published_at=timezone.now(),
        )

    assert document.publications.count() == 1
