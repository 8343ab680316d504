from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Membership, User
from .services import DELEGABLE_ROLES


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, membership):
        return f"{membership.get_role_display()} · {membership.department or _('whole organisation')}"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, person):
        return f"{person.printed_name} ({person.username})"


class DelegationForm(forms.Form):
    """A reviewer lends one of their roles to a deputy for some days."""

    membership = MembershipChoiceField(label=_("Role to lend"), queryset=Membership.objects.none())
    deputy = PersonChoiceField(label=_("Deputy"), queryset=User.objects.none())
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = forms.DateField(
        label=_("Until"),
        help_text=_("The last day the deputy acts for you, included."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False, help_text=_("For example: on leave."))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        roles = user.memberships.filter(role__in=DELEGABLE_ROLES).select_related("department")
        self.fields["membership"].queryset = roles
        if len(roles) == 1:  # nothing to choose: the one role there is
            self.fields["membership"].initial = roles[0].pk
            self.fields["membership"].empty_label = None
        self.fields["deputy"].queryset = (
            User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("display_name", "username")
        )
