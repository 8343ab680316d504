"""The clinic's rule (三审三校) as the default workflow: (position, name, acting role, only for major matters)."""

CLINIC_WORKFLOW = "三审三校"
CLINIC_STAGES = [
    (1, "初审", "information_officer", False),
    (2, "复审", "department_head", False),
    (3, "终审", "publicity_leader", False),
    (4, "审定", "principal_leader", True),
]


def create_clinic_workflow(Workflow, Stage):
    """Create the default workflow with the given model classes (historical ones in migrations)."""
    workflow = Workflow.objects.create(name=CLINIC_WORKFLOW)
    Stage.objects.bulk_create(
        Stage(workflow=workflow, position=position, name=name, role=role, major_only=major_only)
        for position, name, role, major_only in CLINIC_STAGES
    )
    return workflow
