"""The clinic's rule (三审三校) as the default workflow, with its checklists and the error categories of the
publishing standard. Used by the data migrations and by seed_demo, with the model classes they are given."""

from decimal import Decimal

from django.utils.translation import gettext_noop

# The names are stored in Chinese, the clinic's language, and translated where they are shown (the signature's
# meaning is the stored name); marked here so that `make messages` keeps their English.
# Translators: the workflow's name.
CLINIC_WORKFLOW = gettext_noop("三审三校")
# position, review name, proofread name, acting role, only for major matters
CLINIC_STAGES = [
    # Translators: stage names (meanings of a signature): first review and first proofread, by the information officer.
    (1, gettext_noop("初审"), gettext_noop("初校"), "information_officer", False),
    # Translators: second review and second proofread, by the department head.
    (2, gettext_noop("复审"), gettext_noop("复校"), "department_head", False),
    # Translators: final review and final proofread, by the leader in charge of publicity.
    (3, gettext_noop("终审"), gettext_noop("终校"), "publicity_leader", False),
    # Translators: approval by the principal leader, for major matters.
    (4, gettext_noop("审定"), "", "principal_leader", True),
]
# Each stage's time limit in working hours, its limit for urgent pieces in clock hours (12 hours in all for an
# urgent statement's three everyday stages), and whom an overdue stage is escalated to.
CLINIC_TIME_LIMITS = {
    "初审": (8, 4, "department_head"),
    "复审": (8, 4, "publicity_leader"),
    "终审": (8, 4, "principal_leader"),
    "审定": (16, 4, ""),
}
# The clinic's review criteria and the gates government accounts check (政治关、法律关、保密关) ...
REVIEW_CHECKLIST = [
    "政治立场鲜明，主题积极向上，有感染力、影响力",
    "内容真实，时效性强，符合国家政策、法律法规",
    "表述准确，角度新颖，逻辑严密，语言流畅",
    "政治关：导向正确，无政治性差错",
    "法律关：不违反法律法规，不侵犯他人权益",
    "保密关：不涉及国家秘密、工作秘密和个人隐私",
]
# ... and its proofreading criteria, with the last gate (文字关).
PROOFREAD_CHECKLIST = [
    "用语规范，表述准确",
    "格式规范，结构合理",
    "认真严谨，差错率低",
    "文字关：无错别字、病句和标点符号差错",
]
# name, weight (per error), as the publishing standard counts them; editable by administrators.
ERROR_CATEGORIES = [
    ("错字、漏字、多字", Decimal("1")),
    ("知识性、逻辑性、语法性差错", Decimal("2")),
    ("政治性差错", Decimal("3")),
    ("标点符号差错", Decimal("0.5")),
]


def create_clinic_workflow(Workflow, Stage, ChecklistItem):
    """Create the default workflow with the given model classes (historical ones in migrations)."""
    workflow = Workflow.objects.create(name=CLINIC_WORKFLOW)
    for position, name, proofread_name, role, major_only in CLINIC_STAGES:
        stage = Stage.objects.create(
            workflow=workflow,
            position=position,
            name=name,
            proofread_name=proofread_name,
            role=role,
            major_only=major_only,
        )
        add_default_checklist(stage, ChecklistItem)
    set_time_limits(workflow.stages.all())
    return workflow


# Translators: the bulletin's workflow: its issues are signed off by the leader in charge of publicity.
BULLETIN_WORKFLOW = gettext_noop("简报审签")


def create_bulletin_workflow(Workflow, Stage, ChecklistItem):
    """Create the bulletin's workflow (for pieces of the kind "bulletin"): one stage, 终审/终校, by the leader in
    charge of publicity, with the clinic's checklist and time limits."""
    workflow = Workflow.objects.create(name=BULLETIN_WORKFLOW, kind="bulletin")
    name, proofread_name, role = CLINIC_STAGES[2][1:4]
    stage = Stage.objects.create(workflow=workflow, position=1, name=name, proofread_name=proofread_name, role=role)
    add_default_checklist(stage, ChecklistItem)
    set_time_limits(workflow.stages.all())
    return workflow


def set_time_limits(stages) -> None:
    """Give the clinic's stages (a queryset, of historical models in migrations) their time limits."""
    for stage in stages.filter(name__in=CLINIC_TIME_LIMITS):
        stage.time_limit, stage.urgent_time_limit, stage.escalate_to = CLINIC_TIME_LIMITS[stage.name]
        stage.save(update_fields=["time_limit", "urgent_time_limit", "escalate_to"])


def add_default_checklist(stage, ChecklistItem) -> None:
    """Give a stage the clinic's checklist: the review questions, then (when it proofreads) the proofreading ones."""
    items = [("review", text) for text in REVIEW_CHECKLIST]
    if stage.proofread_name:
        items += [("proofread", text) for text in PROOFREAD_CHECKLIST]
    ChecklistItem.objects.bulk_create(
        ChecklistItem(stage=stage, part=part, position=position, text=text)
        for position, (part, text) in enumerate(items, start=1)
    )


def create_error_categories(ErrorCategory) -> None:
    ErrorCategory.objects.bulk_create(
        ErrorCategory(name=name, weight=weight, position=position)
        for position, (name, weight) in enumerate(ERROR_CATEGORIES, start=1)
    )
