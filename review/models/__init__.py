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
from .leaders import Bulletin, BulletinItem, ReadingFinding, ReadingReview
from .notifications import Delivery, Notification, NotificationSettings, Robot
from .prechecks import Dismissal, SensitiveTerm
from .proofreading import ChecklistAnswer, ErrorCategory, RecordedError
from .publications import Publication
from .webhooks import Webhook, WebhookDelivery
from .workflow import ChecklistItem, Part, RouteChecklistItem, RouteStage, Stage, Workflow

__all__ = [
    "Attachment",
    "Bulletin",
    "BulletinItem",
    "ReadingFinding",
    "ReadingReview",
    "ChecklistAnswer",
    "ChecklistItem",
    "Delivery",
    "Notification",
    "NotificationSettings",
    "Robot",
    "ErrorCategory",
    "Part",
    "RecordedError",
    "RouteChecklistItem",
    "AuditAction",
    "Channel",
    "Dismissal",
    "Document",
    "DocumentGroupObjectPermission",
    "DocumentUserObjectPermission",
    "Kind",
    "Publication",
    "Revision",
    "Role",
    "RouteStage",
    "SensitiveTerm",
    "Stage",
    "StageReview",
    "Webhook",
    "WebhookDelivery",
    "Workflow",
    "content_hash",
    "role_label",
]
