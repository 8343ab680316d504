"""Fill the demo clinic with many pieces and audit events, fast, for benchmarks: `seed_bench --documents N --events M`.

Run it after seed_demo on the same database: the demo's people draft, review and publish the new pieces, so they
keep working and see full queues (two fifths of the pieces wait at 初审 in the demo department, in the officer's
queue). The pieces are written by bulk inserts, each as the services would leave it in its state: its route copied
from the workflow, its first revision, its stage reviews and signatures, its publications, and its object
permissions as review.permissions.expected_grants() says. The audit events are appended after the chain's head,
chained and signed (audit.bulk), so the chain stays verifiable.
"""

import itertools

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from audit import bulk
from review import deadlines
from review.models import (
    Document,
    DocumentGroupObjectPermission,
    DocumentUserObjectPermission,
    Publication,
    Revision,
    RouteChecklistItem,
    RouteStage,
    StageReview,
    Workflow,
    content_hash,
)
from review.permissions import expected_grants
from review.proofreading import character_count

BATCH = 2000
BODY = (
    "<div>{title}。<br><br>为进一步提高辖区居民健康水平，卫生院根据上级工作安排，结合本地实际，近期组织开展相关服务。"
    "请有需要的居民携带身份证、医保卡按时前往。<br><br>请广大居民相互转告，如有疑问请咨询卫生院。</div>"
)
# (share of the pieces, state, stages approved, department code): two fifths wait at 初审 in the demo department.
MIX = [
    (40, "in_review", 0, "public-health"),
    (8, "in_review", 1, "public-health"),
    (7, "in_review", 2, "public-health"),
    (5, "in_review", 0, "medical-affairs"),
    (10, "draft", 0, "public-health"),
    (5, "returned", 0, "public-health"),
    (5, "approved", 3, "public-health"),
    (2, "rejected", 1, "medical-affairs"),
    (18, "published", 3, "public-health"),
]
TEAMS = {"public-health": ("drafter", "officer", "head"), "medical-affairs": ("drafter2", "officer2", "head2")}
ACTIONS = ["created", "submitted", "approved", "approved", "approved", "published", "login", "downloaded"]


def plan(count: int) -> list[tuple[str, int, str]]:
    """Return (state, stages approved, department code) for `count` pieces, in the MIX's proportions, interleaved."""
    cycle = list(itertools.chain.from_iterable([entry[1:]] * entry[0] for entry in MIX))
    return [cycle[(index * 37) % len(cycle)] for index in range(count)]


class Command(BaseCommand):
    help = "Add N pieces in every state and M audit events to the demo clinic, by bulk inserts (after seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--documents", type=int, default=2000, help="How many pieces to add (default 2,000).")
        parser.add_argument("--events", type=int, default=20000, help="How many audit events to add (default 20,000).")

    def handle(self, *args, documents: int, events: int, **options):
        users = {user.username: user for user in User.objects.filter(username__in=self.usernames())}
        missing = set(self.usernames()) - set(users)
        if missing:
            raise CommandError(f"Run seed_demo first: the demo's people are missing ({', '.join(sorted(missing))}).")
        workflow = Workflow.objects.filter(is_active=True, kind="", department__isnull=True).first()
        if workflow is None:
            raise CommandError("Run seed_demo first: there is no workflow for everyday pieces.")
        stages = list(workflow.stages.order_by("position").prefetch_related("checklist"))
        departments = {department.code: department for department in Department.objects.all()}
        self.groups = {group.name: group for group in Group.objects.filter(name__startswith="role:")}
        review_permissions = Permission.objects.filter(content_type__app_label="review", codename__endswith="_document")
        self.permissions = {permission.codename: permission for permission in review_permissions}
        started = timezone.now()
        mix = plan(documents)
        for first in range(0, documents, BATCH):
            with transaction.atomic():
                self.pieces(mix[first : first + BATCH], first, stages, departments, users)
        appended = bulk.append(self.events(events, users, started))
        self.stdout.write(self.style.SUCCESS(f"Added {documents:,} pieces and {appended:,} audit events."))

    @staticmethod
    def usernames():
        return {name for team in TEAMS.values() for name in team} | {"leader", "publisher"}

    def pieces(self, batch, offset, stages, departments, users):
        """Write one batch of pieces, each complete for its state."""
        now = timezone.now()
        documents = []
        for index, (state, _approved, code) in enumerate(batch, start=offset + 1):
            drafter = users[TEAMS[code][0]]
            documents.append(
                Document(
                    title=f"基准稿件 {index:06d}",
                    body=BODY.format(title=f"基准稿件 {index:06d}"),
                    department=departments[code],
                    drafter=drafter,
                    channels=["website", "wechat"],
                    kind="news",
                    state=state,
                    round=0 if state == "draft" else 1,
                    submitted_at=None if state == "draft" else now,
                )
            )
        Document.objects.bulk_create(documents)
        revisions = Revision.objects.bulk_create(
            Revision(
                document=document, number=1, title=document.title, body=document.body,
                content_hash=content_hash(document.title, document.body),
                characters=character_count(document.title, document.body), author=document.drafter,
            )
            for document in documents
        )  # fmt: skip
        routes = RouteStage.objects.bulk_create(
            RouteStage(document=document, **{name: getattr(stage, name) for name in RouteStage.COPIED})
            for document in documents
            for stage in stages
        )
        route_of = {}
        for route_stage in routes:
            route_of.setdefault(route_stage.document_id, []).append(route_stage)
        reviews, checklists, publications = [], [], []
        for document, revision, (state, approved, code) in zip(documents, revisions, batch, strict=True):
            document.current_revision = revision
            route = [stage for stage in route_of[document.pk] if not stage.major_only]
            team = [users[name] for name in TEAMS[code][1:]] + [users["leader"]]
            document.route_cache, document.review_cache = route_of[document.pk], []
            if state == "draft":
                continue
            for position, (stage, reviewer) in enumerate(zip(route, team, strict=True)):
                decision = self.decision(state, approved, position)
                review = StageReview(
                    document=document, stage=stage, round=1, meaning=stage.name, decision=decision,
                    revision=revision, revision_hash=revision.content_hash,
                )  # fmt: skip
                if decision in ("approved", "returned", "rejected"):
                    review.decided_by, review.decided_at = reviewer, now
                    review.signer_name, review.signer_role = reviewer.printed_name, stage.role
                    review.opinion = "同意。" if decision == "approved" else "请修改。"
                if decision == "pending" and position == approved and state == "in_review":
                    document.current_stage = stage
                    review.started_at = now
                    review.due_at = deadlines.due_at(stage, document, now)
                    document.stage_due_at = review.due_at
                    checklists.extend(
                        RouteChecklistItem(stage=stage, part=item.part, position=item.position, text=item.text)
                        for item in stages[position].checklist.all()
                    )
                reviews.append(review)
                document.review_cache.append(review)
            if state == "published":
                publications.append(
                    Publication(
                        document=document,
                        revision=revision,
                        channel="website",
                        published_at=now,
                        publisher=users["publisher"],
                    )  # fmt: skip
                )
        StageReview.objects.bulk_create(reviews)
        RouteChecklistItem.objects.bulk_create(checklists)
        Publication.objects.bulk_create(publications)
        Document.objects.bulk_update(documents, ["current_revision", "current_stage", "stage_due_at"])
        self.grants(documents)

    @staticmethod
    def decision(state: str, approved: int, position: int) -> str:
        """Return the decision at the stage in `position` of a piece `approved` stages into a state."""
        if position < approved:
            return "approved"
        if state == "returned" and position == 0:
            return "returned"
        if state == "rejected" and position == approved:
            return "rejected"
        if state in ("returned", "rejected"):
            return "cancelled"
        return "pending"

    def grants(self, documents):
        """Give each piece the object permissions the rules call for (review.permissions.expected_grants)."""
        user_rows, group_rows = [], []
        for document in documents:
            # The piece's route and reviews as expected_grants() reads them, from what was just written.
            document._prefetched_objects_cache = {"route": document.route_cache, "stage_reviews": document.review_cache}
            for codename, holder in expected_grants(document):
                grant = {"content_object": document, "permission": self.permissions[codename]}
                if holder.startswith("user:"):
                    user_rows.append(DocumentUserObjectPermission(user_id=int(holder[5:]), **grant))
                else:
                    if holder not in self.groups:
                        self.groups[holder] = Group.objects.get_or_create(name=holder)[0]
                    group_rows.append(DocumentGroupObjectPermission(group=self.groups[holder], **grant))
        DocumentUserObjectPermission.objects.bulk_create(user_rows, batch_size=BATCH)
        DocumentGroupObjectPermission.objects.bulk_create(group_rows, batch_size=BATCH)

    @staticmethod
    def events(count: int, users: dict, started):
        """Yield `count` events of the demo's people acting on the new pieces, a second apart, ending now."""
        people = list(users.values())
        first = (
            Document.objects.filter(title__startswith="基准稿件").order_by("pk").values_list("pk", flat=True).first()
        )
        moment = timezone.now() - timezone.timedelta(seconds=count)
        for sequence in range(count):
            action, person = ACTIONS[sequence % len(ACTIONS)], people[sequence % len(people)]
            on_piece = action not in ("login", "downloaded")
            yield {
                "created_at": max(started, moment) + timezone.timedelta(microseconds=sequence),
                "actor_id": person.pk,
                "actor_name": person.printed_name,
                "action": action,
                "object_type": "review.document" if on_piece else "",
                "object_id": (first or 1) + sequence // len(ACTIONS) if on_piece else None,
                "object_repr": f"基准稿件 {sequence // len(ACTIONS) + 1:06d}" if on_piece else "",
                "from_state": "in_review" if action == "approved" else "",
                "to_state": "in_review" if action == "approved" else "",
                "data": {"round": 1, "stage": "初审"} if action == "approved" else {},
            }
