from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
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
