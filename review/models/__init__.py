"""Review: workflow definitions, pieces and their routes, signatures, publications and webhooks."""

from .choices import AuditAction, Channel, Kind, Role, role_label
from .documents import (
    Attachment,
    Document,
    DocumentGroupObjectPermission,
    DocumentUserObjectPermission,
    Revision,
    StageReview,
    content_hash,
)
from .publications import Publication
from .webhooks import Webhook, WebhookDelivery
from .workflow import RouteStage, Stage, Workflow

__all__ = [
    "Attachment",
    "AuditAction",
    "Channel",
    "Document",
    "DocumentGroupObjectPermission",
    "DocumentUserObjectPermission",
    "Kind",
    "Publication",
    "Revision",
    "Role",
    "RouteStage",
    "Stage",
    "StageReview",
    "Webhook",
    "WebhookDelivery",
    "Workflow",
    "content_hash",
    "role_label",
]
