"""Create the demo clinic: two departments, a person for every role, and pieces in every state."""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, Membership, User
from accounts.services import add_membership
from review import services
from review.defaults import create_clinic_workflow, create_error_categories
from review.models import ChecklistItem, Document, ErrorCategory, Stage, Workflow

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

# title, drafter, channels, is_major, due in days, who acts in turn ("submit", then reviewers; see _advance)
PIECES = [
    ("秋冬季流感疫苗接种通知", "drafter", ["website", "wechat"], False, 7, []),
    ("家庭医生签约服务宣传", "drafter", ["wechat"], False, 2, ["submit"]),
    ("高血压防治知识讲座预告", "drafter", ["website", "weibo"], False, -1, ["submit", "officer"]),
    ("卫生院开展义诊活动", "drafter", ["website", "wechat", "qq"], False, 3, ["submit", "officer", "head"]),
    ("预防手足口病健康提示", "drafter", ["wechat", "weibo"], False, 5, ["submit", "officer", "head", "leader"]),
    ("重大公共卫生事件应急演练", "drafter", ["website"], True, 4, ["submit", "officer", "head", "leader"]),
    ("老年人免费体检安排", "drafter", ["website"], False, None, ["submit", "officer", "head", "leader", "publish"]),
    ("中医馆开诊公告", "drafter", ["website", "wechat"], False, 6, ["submit", "return"]),
    ("医务科便民门诊时间调整", "drafter2", ["website", "qq"], False, 2, ["submit"]),
]


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent). All demo users share one password, printed at the end."

    @transaction.atomic
    def handle(self, *args, **options):
        departments = {
            code: Department.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in DEPARTMENTS
        }
        if not Workflow.objects.filter(is_active=True).exists():
            create_clinic_workflow(Workflow, Stage, ChecklistItem)
        if not ErrorCategory.objects.exists():
            create_error_categories(ErrorCategory)
        users = {}
        for username, name, role, department in PEOPLE:
            user = self._user(username, display_name=name)
            add_membership(user=user, role=role, department=department and departments[department], by=None)
            users[username] = user
        users["admin"] = self._user("admin", display_name="系统管理员", is_staff=True, is_superuser=True)

        if Document.objects.exists():
            self.stdout.write("Pieces already exist; left as they are.")
        else:
            for piece in PIECES:
                self._piece(users, departments, *piece)
            self.stdout.write(f"Created {len(PIECES)} demo pieces.")

        self.stdout.write(self.style.SUCCESS(f"Demo users: {', '.join(users)}; password: {PASSWORD}"))

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
            body=BODY.format(title=title, department=department.name),
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
                services.return_for_changes(
                    document=document, user=users["officer"], reason="请补充开诊时间和预约电话，并核对科室名称。"
                )
            elif step == "publish":
                services.publish(
                    document=document,
                    user=users["publisher"],
                    channel=channels[0],
                    url="https://example.org/news/elderly-check-up",
                    published_at=timezone.now(),
                )
            else:
                stage = Document.objects.get(pk=document.pk).current_stage
                checklist = [{"item": item.pk, "ok": True} for item in stage.checklist.all()]
                services.approve(
                    document=document, user=users[step], password=PASSWORD, opinion="同意。", checklist=checklist
                )
