"""Create the demo clinic: two departments, a person for every role, and pieces in every state."""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Delegation, Department, Membership, User
from accounts.services import add_membership, delegate
from review import deadlines, services
from review.defaults import create_bulletin_workflow, create_clinic_workflow, create_error_categories
from review.management import demo_history
from review.models import ChecklistItem, Document, ErrorCategory, Kind, SensitiveTerm, Stage, Workflow

PASSWORD = "demo-pass-2026"
Role = Membership.Role

DEPARTMENTS = [("public-health", "公共卫生科"), ("medical-affairs", "医务科")]

# username, printed name, role, department code (None: the whole organisation)
PEOPLE = [
    ("drafter", "张晓雯", Role.DRAFTER, "public-health"),
    ("officer", "李信", Role.INFORMATION_OFFICER, "public-health"),
    ("head", "王建国", Role.DEPARTMENT_HEAD, "public-health"),
    ("leader", "陈志强", Role.PUBLICITY_LEADER, None),
    ("principal", "刘德明", Role.PRINCIPAL_LEADER, None),
    ("publisher", "赵敏", Role.PUBLISHER, None),
    ("auditor", "孙丽", Role.AUDITOR, None),
    ("drafter2", "周杰", Role.DRAFTER, "medical-affairs"),
    ("officer2", "吴芳", Role.INFORMATION_OFFICER, "medical-affairs"),
    ("head2", "郑伟", Role.DEPARTMENT_HEAD, "medical-affairs"),
]

# Paragraphs as the editor (Trix) writes them, so a first edit changes only what the drafter changes.
BODY = "<div>{title}。<br><br>请广大居民相互转告，如有疑问请咨询卫生院{department}。</div>"
# Some pieces carry what the pre-checks find (a misspelling, doubled punctuation and characters, a claim a health
# notice may not make), so a new user sees findings at once.
BODIES = {
    "家庭医生签约服务宣传": (
        "<div>家庭医生签约服务全面开展，签约居民可享受健康咨询、慢病随访等服务，，欢迎咨询。<br><br>"
        "中医调理可根治高血压。望各村卫生室再接再励，做好的的签约服务。</div>"
    ),
    "高血压防治知识讲座预告": (
        "<div>本周五上午在卫生院二楼会议室举办高血压防治知识讲座，，主讲人为我院全科医师。<br><br>"
        "请有需要的居民准时参加，如有疑问请咨询卫生院公共卫生科。</div>"
    ),
    "儿童预防接种门诊时间调整": "<div>儿童预防接种门诊时间调整为每周二、周四上午。<br><br>请家长带好接种证。</div>",
}
# A proofreader's corrections at their stage before signing: (title, reviewer) → (body, note, errors by category).
CORRECTIONS = {
    ("高血压防治知识讲座预告", "officer"): (
        "<div>本周五上午在卫生院二楼会议室举办高血压防治知识讲座，主讲人为我院全科医生。<br><br>"
        "请有需要的居民准时参加，如有疑问请咨询卫生院公共卫生科。</div>",
        "删去重复的逗号；“医师”统一为“医生”。",
        {"标点符号差错": 1, "错字、漏字、多字": 1},
    ),
}
# What the drafter changed before sending a returned piece again: title → (body, note).
RESUBMISSIONS = {
    "儿童预防接种门诊时间调整": (
        "<div>儿童预防接种门诊时间调整为每周二、周四上午8:00—11:30。<br><br>请家长带好接种证和儿童医保卡。</div>",
        "按初审意见补充了具体时间和需携带的证件。",
    ),
}
RETURN_REASONS = {
    "中医馆开诊公告": "请补充开诊时间和预约电话，并核对科室名称。",
    "儿童预防接种门诊时间调整": "请写明具体接种时间，并说明需携带的证件。",
}
# Waiting at 复审 for two working days: overdue, so the worker escalates it (to the leader in charge of publicity).
OVERDUE = "高血压防治知识讲座预告"
# Claimed by the officer (the other piece in their queue is not).
CLAIMED = "儿童预防接种门诊时间调整"
# The organisation's own list for the pre-checks: term, category, severity, replacement.
SENSITIVE_TERMS = [
    ("根治", "医疗广告", "high", ""),
    ("包治", "医疗广告", "high", ""),
    ("无效退款", "医疗广告", "high", ""),
    ("最先进", "绝对化用语", "medium", "先进"),
    ("卫生局", "过时名称", "medium", "卫生健康委员会"),
    ("计生办", "过时名称", "medium", "卫生健康办公室"),
]

# title, drafter, channels, is_major, due in days, what happens in turn (see _piece)
PIECES = [
    ("秋冬季流感疫苗接种通知", "drafter", ["website", "wechat"], False, 7, []),
    ("家庭医生签约服务宣传", "drafter", ["wechat"], False, 2, ["submit"]),
    ("高血压防治知识讲座预告", "drafter", ["website", "weibo"], False, -1, ["submit", "officer"]),
    ("卫生院开展义诊活动", "drafter", ["website", "wechat", "qq"], False, 3, ["submit", "officer", "head"]),
    ("预防手足口病健康提示", "drafter", ["wechat", "weibo"], False, 5, ["submit", "officer", "head", "leader"]),
    ("重大公共卫生事件应急演练", "drafter", ["website"], True, 4, ["submit", "officer", "head", "leader"]),
    ("老年人免费体检安排", "drafter", ["website"], False, None, ["submit", "officer", "head", "leader", "publish"]),
    ("中医馆开诊公告", "drafter", ["website", "wechat"], False, 6, ["submit", "return"]),
    ("儿童预防接种门诊时间调整", "drafter", ["website", "wechat"], False, 5, ["submit", "return", "resubmit"]),
    ("医务科便民门诊时间调整", "drafter2", ["website", "qq"], False, 2, ["submit"]),
]


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent). All demo users share one password, printed at the end."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-history", action="store_false", dest="history",
            help="Leave out the six months of generated past work (statistics, post-publication reviews, bulletin).",
        )  # fmt: skip

    @transaction.atomic
    def handle(self, *args, **options):
        departments = {
            code: Department.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in DEPARTMENTS
        }
        if not Workflow.objects.filter(is_active=True).exclude(kind=Kind.BULLETIN).exists():
            create_clinic_workflow(Workflow, Stage, ChecklistItem)
        if not Workflow.objects.filter(is_active=True, kind=Kind.BULLETIN).exists():
            create_bulletin_workflow(Workflow, Stage, ChecklistItem)
        if not ErrorCategory.objects.exists():
            create_error_categories(ErrorCategory)
        for term, category, severity, replacement in SENSITIVE_TERMS:
            SensitiveTerm.objects.get_or_create(
                term=term, defaults={"category": category, "severity": severity, "replacement": replacement}
            )
        users = {}
        for username, name, role, department in PEOPLE:
            user = self._user(username, display_name=name)
            add_membership(user=user, role=role, department=department and departments[department], by=None)
            users[username] = user
        users["admin"] = self._user("admin", display_name="系统管理员", is_staff=True, is_superuser=True)

        if Document.objects.exists():
            self.stdout.write("Pieces already exist; left as they are.")
        else:
            if options.get("history", True):
                past = demo_history.create(users, departments)
                self.stdout.write(f"Wrote {past} pieces of the last six months' work.")
            for piece in PIECES:
                self._piece(users, departments, *piece)
            self._overdue(OVERDUE)
            # The officer says they are on one of the two pieces in their queue: the others holding the role see it.
            services.claim(document=Document.objects.get(title=CLAIMED), user=users["officer"])
            self.stdout.write(f"Created {len(PIECES)} demo pieces.")
        self._delegation(users)

        self.stdout.write(self.style.SUCCESS(f"Demo users: {', '.join(users)}; password: {PASSWORD}"))

    def _delegation(self, users):
        """The public-health head is away this week: the medical-affairs head acts for him (on his behalf)."""
        head = users["head"].memberships.get(role=Role.DEPARTMENT_HEAD)
        if not Delegation.objects.in_force().filter(membership=head).exists():
            today = timezone.localdate()
            delegate(
                membership=head, deputy=users["head2"], starts_on=today, ends_on=today + datetime.timedelta(days=6),
                reason="外出培训", by=users["head"],
            )  # fmt: skip

    def _user(self, username: str, **fields) -> User:
        user, _created = User.objects.update_or_create(username=username, defaults=fields)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        return user

    def _piece(self, users, departments, title, drafter, channels, is_major, due_in, steps):
        drafter = users[drafter]
        department = drafter.memberships.get(role=Role.DRAFTER).department
        document = services.create_document(
            drafter=drafter,
            title=title,
            body=BODIES.get(title) or BODY.format(title=title, department=department.name),
            department=department,
            channels=channels,
            kind="notice" if "通知" in title or "公告" in title else "news",
            is_major=is_major,
            due_date=timezone.localdate() + datetime.timedelta(days=due_in) if due_in is not None else None,
        )
        for step in steps:
            if step == "submit":
                services.submit_document(document=document, user=drafter)
            elif step == "return":
                services.return_for_changes(document=document, user=users["officer"], reason=RETURN_REASONS[title])
            elif step == "resubmit":
                body, note = RESUBMISSIONS[title]
                services.edit_document(document=document, user=drafter, body=body)
                services.submit_document(document=document, user=drafter, note=note)
            elif step == "publish":
                services.publish(
                    document=document,
                    user=users["publisher"],
                    channel=channels[0],
                    url="https://example.org/news/elderly-check-up",
                    published_at=timezone.now(),
                )
            else:
                self._approve(document, users[step], title)

    def _overdue(self, title):
        """Let the piece have reached its stage two working days ago, so that its stage is overdue: the worker
        escalates it within five minutes of starting (tell the reviewers, tell whom the stage names)."""
        document = Document.objects.get(title=title)
        review = document.stage_reviews.get(round=document.round, stage=document.current_stage, cosignature=False)
        started = timezone.now() - datetime.timedelta(days=4)
        review.started_at, review.due_at = started, deadlines.add_working_hours(started, 16)
        review.save(update_fields=["started_at", "due_at"])
        Document.objects.filter(pk=document.pk).update(stage_due_at=review.due_at)

    def _approve(self, document, reviewer, title):
        """Sign the piece's current stage as `reviewer`, after the corrections CORRECTIONS gives them."""
        errors = []
        if (title, reviewer.username) in CORRECTIONS:
            body, note, counted = CORRECTIONS[title, reviewer.username]
            services.correct_document(document=document, user=reviewer, title=title, body=body, note=note)
            categories = {category.name: category for category in ErrorCategory.objects.all()}
            errors = [{"category": categories[name].pk, "count": count} for name, count in counted.items()]
        stage = Document.objects.get(pk=document.pk).current_stage
        checklist = [{"item": item.pk, "ok": True} for item in stage.checklist.all()]
        services.approve(
            document=document,
            user=reviewer,
            password=PASSWORD,
            opinion="同意。",
            checklist=checklist,
            errors=errors,
        )
