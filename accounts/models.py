import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from audit import labels


class AuditAction(models.TextChoices):
    """What accounts records in the audit log."""

    LOGIN = "login", _("Logged in")
    LOGOUT = "logout", _("Logged out")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKED_OUT = "locked_out", _("Locked out after failed logins")
    MEMBERSHIP_ADDED = "membership_added", _("Role granted")
    MEMBERSHIP_REMOVED = "membership_removed", _("Role removed")
    DELEGATED = "delegated", _("Role delegated to a deputy")
    DELEGATION_REVOKED = "delegation_revoked", _("Delegation revoked")


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name


class User(AbstractUser):
    display_name = models.CharField(
        _("printed name"),
        max_length=100,
        blank=True,
        help_text=_("The name printed beside this person's signatures."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        return self.printed_name

    @property
    def printed_name(self) -> str:
        """Return the name shown beside this person's signatures."""
        return self.display_name or self.get_full_name() or self.username


class MembershipQuerySet(models.QuerySet):
    def serving(self, department: Department):
        """Return memberships that cover `department`: its own, and organisation-wide ones."""
        return self.filter(models.Q(department=department) | models.Q(department__isnull=True))


class Membership(models.Model):
    """A person holds a role in one department, or across the whole organisation."""

    class Role(models.TextChoices):
        DRAFTER = "drafter", _("Drafter")
        INFORMATION_OFFICER = "information_officer", _("Information officer")
        DEPARTMENT_HEAD = "department_head", _("Department head")
        PUBLICITY_LEADER = "publicity_leader", _("Leader in charge of publicity")
        PRINCIPAL_LEADER = "principal_leader", _("Principal leader")
        PUBLISHER = "publisher", _("Publisher")
        AUDITOR = "auditor", _("Auditor")

    # Roles that only make sense inside one department.
    DEPARTMENT_ROLES = {Role.DRAFTER, Role.INFORMATION_OFFICER, Role.DEPARTMENT_HEAD}

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("department"),
        help_text=_("Leave empty for a role that serves the whole organisation."),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["department__name", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"],
                condition=models.Q(department__isnull=False),
                name="membership_unique_in_department",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(department__isnull=True),
                name="membership_unique_organisation_wide",
            ),
        ]

    def __str__(self):
        where = self.department or _("whole organisation")
        return f"{self.user} · {self.get_role_display()} · {where}"

    def clean(self):
        if self.role in self.DEPARTMENT_ROLES and self.department_id is None:
            raise ValidationError(
                {"department": _("A %(role)s belongs to a department.") % {"role": self.get_role_display()}}
            )

    @staticmethod
    def group_name(role: str, department_id: int | None) -> str:
        """Return the name of the permission group that mirrors a role in a department."""
        return f"role:{role}:{department_id or 'org'}"


class DelegationQuerySet(models.QuerySet):
    def in_force(self, at=None) -> "DelegationQuerySet":
        """Return the delegations that hold on the day of `at` (now by default): begun, not ended, not revoked,
        the delegator's account still active."""
        day = timezone.localdate(at)
        return self.filter(
            starts_on__lte=day, ends_on__gte=day, revoked_at__isnull=True, membership__user__is_active=True
        )


class Delegation(models.Model):
    """A reviewer's role lent to a deputy for a range of days (while away, say).

    In those days the deputy acts with that role, and what they sign is signed on behalf of the delegator: both
    names go on the signature. Four eyes holds for both of them. Removing the role (the membership) ends it.
    """

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="delegations", verbose_name=_("role delegated")
    )
    deputy = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="delegations_received", verbose_name=_("deputy")
    )
    # The role's permission group, kept here so that permission queries find a deputy's pieces in SQL.
    group = models.ForeignKey("auth.Group", on_delete=models.PROTECT, related_name="+", editable=False)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), help_text=_("The last day the deputy acts, included."))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("set up by"))
    created_at = models.DateTimeField(_("set up"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-pk"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="delegation_ends_after_start"
            ),
        ]

    def __str__(self):
        return (
            f"{self.delegator} → {self.deputy} · {self.membership.get_role_display()} · {self.starts_on}–{self.ends_on}"
        )

    @property
    def delegator(self) -> User:
        return self.membership.user

    @property
    def is_in_force(self) -> bool:
        return self.revoked_at is None and self.starts_on <= timezone.localdate() <= self.ends_on


labels.register_actions(AuditAction)
labels.register(Membership.Role)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key for the API, stored only as its SHA-256: the key itself is shown once, when it is issued.

    It stops working when it expires, when its user is deactivated, and when the password changes.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    prefix = models.CharField(_("prefix"), max_length=8, help_text=_("The key's first characters, to tell keys apart."))
    digest = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    # Changes whenever the password does, which ends every token issued before.
    password_stamp = models.CharField(_("password stamp"), max_length=128)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.user} · {self.prefix}…"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def is_current(self) -> bool:
        """Return whether the token still works: not expired, its user active, their password unchanged."""
        user = self.user
        return (
            not self.is_expired
            and user.is_active
            and constant_time_compare(self.password_stamp, user.get_session_auth_hash())
        )

    @staticmethod
    def lifetime():
        return settings.API_TOKEN_LIFETIME
