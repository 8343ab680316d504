from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from audit import labels

Role = Membership.Role

# The roles that act at a review stage.
REVIEWER_ROLES = (Role.INFORMATION_OFFICER, Role.DEPARTMENT_HEAD, Role.PUBLICITY_LEADER, Role.PRINCIPAL_LEADER)


def role_label(code: str) -> str:
    """Return the display name of a role code, in the active language (codes are what records keep)."""
    try:
        return Role(code).label
    except ValueError:
        return code


class Channel(models.TextChoices):
    WEBSITE = "website", _("Website")
    WECHAT = "wechat", _("WeChat official account")
    WEIBO = "weibo", _("Weibo")
    QQ = "qq", _("QQ")
    NEWSLETTER = "newsletter", _("Newsletter")
    PRINT = "print", _("Print")
    OTHER = "other", _("Other")


class Kind(models.TextChoices):
    NEWS = "news", _("News")
    NOTICE = "notice", _("Notice")
    HEALTH_EDUCATION = "health_education", _("Health education")
    POLICY = "policy", _("Policy explainer")
    BULLETIN = "bulletin", _("Bulletin issue")
    OTHER = "other", _("Other")


# What a drafter may write: an issue of the bulletin is made on the bulletin's page, from its pieces.
CREATABLE_KINDS = [(value, label) for value, label in Kind.choices if value != Kind.BULLETIN]


class AuditAction(models.TextChoices):
    """What the review of pieces records in the audit log."""

    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for changes")
    REJECTED = "rejected", _("Rejected")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    FINDING_DISMISSED = "finding_dismissed", _("Pre-check finding dismissed")
    REMINDED = "reminded", _("Reviewers reminded of a deadline")
    ESCALATED = "escalated", _("Overdue stage escalated")
    CLAIMED = "claimed", _("Claimed")
    RELEASED = "released", _("Released")
    REASSIGNED = "reassigned", _("Reassigned")
    READING_REVIEW_OPENED = "reading_review_opened", _("Post-publication review opened")
    READING_FINDING = "reading_finding", _("Post-publication finding recorded")
    READING_REVIEW_CLOSED = "reading_review_closed", _("Post-publication review closed")


labels.register_actions(AuditAction)
