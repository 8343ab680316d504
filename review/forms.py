"""Forms read and show what people type; the rules they must satisfy are checked by the services."""

import filetype
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Membership
from audit import labels
from audit.forms import MAX_ID, PeriodForm

from . import bulletins, services, statistics, word
from .models import Channel, Document, ErrorCategory, NotificationSettings, Part, ReadingFinding, RouteStage
from .models.choices import CREATABLE_KINDS
from .models.notifications import Event as NotificationEvent


class DocumentForm(forms.ModelForm):
    """A piece as its drafter writes it: typed in the editor or uploaded from Word (while files may be added).

    Once the piece has been submitted, the drafter says what they changed (`note`), for the reviewers.
    """

    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple, required=False,
        help_text=_("Where the piece goes out: needed to submit it, not to save a draft."),
    )  # fmt: skip
    word_file = forms.FileField(
        label=_("Or upload a Word document"),
        required=False,
        help_text=_("A .docx file from Word or WPS: its text replaces the text above; its images are attached."),
        widget=forms.ClearableFileInput(attrs={"accept": ".docx"}),
    )
    note = forms.CharField(
        label=_("What you changed, for the reviewers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    class Meta:
        model = Document
        fields = [
            "title", "summary", "body", "department", "kind", "channels", "source", "is_major", "is_urgent", "due_date"
        ]  # fmt: skip
        widgets = {
            "body": forms.HiddenInput(attrs={"id": "id_body"}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].empty_label = _("Choose a department")
        self.fields["department"].queryset = Department.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.DRAFTER
        ).distinct()
        self.fields["kind"].choices = CREATABLE_KINDS
        self.fields["body"].required = False  # checked in clean(): an uploaded Word document stands in for it
        self.images = []
        if self.instance.pk:
            # The department decides who reviews; it is fixed once the piece exists.
            self.fields["department"].disabled = True
        elif self.fields["department"].queryset.count() == 1:
            self.fields["department"].initial = self.fields["department"].queryset.get()
        if self.instance.state not in Document.EDITABLE_STATES:
            del self.fields["word_file"]  # files go with a draft or a returned piece only
        if not self.instance.round:
            del self.fields["note"]  # nothing to tell reviewers before the first submission
        elif self.instance.state in Document.RESTARTABLE_STATES:
            self.fields["note"].help_text = _("Required: saving sends the piece back to the first stage of review.")
        else:
            self.fields["note"].help_text = _("Required to submit the piece again.")

    def clean_word_file(self):
        upload = self.cleaned_data.get("word_file")
        if upload:
            check_upload(upload, {"docx": {"docx"}})
        return upload

    def clean(self):
        cleaned = super().clean()
        if upload := cleaned.get("word_file"):
            try:
                converted = word.convert(upload)
            except word.NotWord:
                self.add_error("word_file", _("This file could not be read as a Word document."))
                return cleaned
            cleaned["body"], self.images = converted.html, converted.images
        # The service's own check, here too, so that an empty body is reported with the other fields.
        try:
            cleaned["body"] = services.clean_body(cleaned.get("body") or "")
        except services.Invalid as refusal:
            self.add_error("body", refusal.message)
        if upload and self.errors:
            # Show the uploaded text in the editor, so nothing is lost when another field needs correcting.
            self.data = self.data.copy()
            self.data[self.add_prefix("body")] = cleaned.get("body", "")
        return cleaned


class SubmitForm(forms.Form):
    note = forms.CharField(label=_("What you changed, for the reviewers"), required=False, max_length=2000)


class CorrectionForm(forms.Form):
    """A proofreader's correction of the text in place, at their stage."""

    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), required=False, widget=forms.HiddenInput(attrs={"id": "id_body"}))
    note = forms.CharField(
        label=_("What you corrected (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The corrections are shown to the drafter and to everyone who signs after you."),
    )


class DecisionForm(forms.Form):
    """An approval's checklist answers, error counts, opinion and signature password; or the reason for a return
    or a rejection. Every field is optional here: the service says what is missing, in the order it checks."""

    YES_NO = [("yes", _("Yes")), ("no", _("No"))]

    review = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_ID)
    opinion = forms.CharField(label=_("Opinion"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    password = forms.CharField(
        label=_("Your password, to sign"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, stage: RouteStage | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage = stage
        if stage:
            # Kept on the stage: the approval checks the answers against the same questions without reading them again.
            prefetch_related_objects([stage], "checklist")
        self.items = list(stage.checklist.all()) if stage else []
        self.categories = list(ErrorCategory.objects.filter(is_active=True)) if stage and stage.proofread_name else []
        for item in self.items:
            self.fields[f"item_{item.pk}"] = forms.ChoiceField(
                label=item.text, choices=self.YES_NO, required=False, widget=forms.RadioSelect
            )
            self.fields[f"note_{item.pk}"] = forms.CharField(label=_("What is wrong"), required=False, max_length=500)
        for category in self.categories:
            self.fields[f"errors_{category.pk}"] = forms.IntegerField(
                label=category.name, required=False, min_value=0, max_value=10_000
            )

    @property
    def parts(self) -> list[tuple[str, str, list]]:
        """Return each part of the checklist: its code, its meaning (初审, 初校) and its (question, answer, note)."""
        meanings = {Part.REVIEW: self.stage.name, Part.PROOFREAD: self.stage.proofread_name} if self.stage else {}
        parts = []
        for part in (Part.REVIEW, Part.PROOFREAD):
            rows = [(i, self[f"item_{i.pk}"], self[f"note_{i.pk}"]) for i in self.items if i.part == part]
            if rows:
                parts.append((part, meanings[part], rows))
        return parts

    def error_fields(self) -> list[tuple]:
        return [(category, self[f"errors_{category.pk}"]) for category in self.categories]

    def checklist(self) -> list[dict]:
        """Return the answers given, as the approval service takes them (unanswered questions left out)."""
        answers = []
        for item in self.items:
            answer = self.cleaned_data.get(f"item_{item.pk}")
            if answer:
                note = self.cleaned_data.get(f"note_{item.pk}", "")
                answers.append({"item": item.pk, "ok": answer == "yes", "note": note})
        return answers

    def errors_found(self) -> list[dict]:
        """Return the error counts given, as the approval service takes them."""
        counts = ((category, self.cleaned_data.get(f"errors_{category.pk}")) for category in self.categories)
        return [{"category": category.pk, "count": count} for category, count in counts if count]


class PublishForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"))
    url = forms.URLField(label=_("Link"), required=False, assume_scheme="https")
    published_at = forms.DateTimeField(
        label=_("Published at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args, document: Document, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(code, label) for code, label in Channel.choices if code in document.channels]
        self.fields["published_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class AuditFilterForm(PeriodForm):
    """The auditor's filters, shared by the audit page, its downloads and the API."""

    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False, empty_label=_("All")
    )
    document = forms.CharField(
        label=_("Piece"), required=False, max_length=200, help_text=_("Its number, or its title.")
    )
    actor = forms.ModelChoiceField(
        label=_("Actor"), queryset=get_user_model().objects.order_by("username"), required=False, empty_label=_("All")
    )
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All")), *labels.action_choices()]

    def clean_document(self) -> int | None:
        """Return the piece's number, given as such or found by its title."""
        given = self.cleaned_data["document"].strip()
        if not given:
            return None
        if given.isascii() and given.isdigit():
            number = int(given)
            if not 1 <= number <= MAX_ID:
                raise forms.ValidationError(_("No piece has this number."))
            return number
        numbers = list(Document.objects.filter(title=given).values_list("pk", flat=True)[:6])
        if not numbers:
            numbers = list(Document.objects.filter(title__icontains=given).values_list("pk", flat=True)[:6])
        if len(numbers) == 1:
            return numbers[0]
        if not numbers:
            raise forms.ValidationError(_("No piece has this title."))
        raise forms.ValidationError(
            _("Several pieces match this title (numbers %(numbers)s…): give the number.")
            % {"numbers": ", ".join(str(number) for number in numbers[:5])}
        )

    def criteria(self) -> dict:
        """Return the filters in the audit log's own terms, as strings (audit.forms.CriteriaForm reads them)."""
        filters = self.filters()
        criteria = {name: filters[name].isoformat() for name in ("since", "until") if name in filters}
        if "department" in filters:
            criteria["scope"] = str(filters["department"].pk)
        if "document" in filters:
            criteria.update(object_type=Document._meta.label_lower, object_id=str(filters["document"]))
        if "actor" in filters:
            criteria["actor"] = str(filters["actor"].pk)
        if "action" in filters:
            criteria["action"] = filters["action"]
        return criteria


class DocumentFilterForm(PeriodForm):
    """The pieces list's search and filters: words in the title or text, state, department, channel, the period
    the piece was written in, only mine, only overdue."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("State"), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False, empty_label=_("All")
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    overdue = forms.BooleanField(label=_("Only overdue"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All")), *Document.State.choices]
        self.fields["channel"].choices = [("", _("All")), *Channel.choices]

    def apply(self, documents, user):
        """Return `documents` narrowed by the filters given (none when the form is not valid)."""
        if not self.is_valid():
            return documents.none()
        return documents.matching(user, **self.cleaned_data)


class PublishManyForm(forms.Form):
    """Mark several approved pieces published on one channel at once."""

    documents = forms.ModelMultipleChoiceField(queryset=Document.objects.none(), widget=forms.CheckboxSelectMultiple)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    published_at = PublishForm.base_fields["published_at"]

    def __init__(self, *args, documents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].queryset = documents
        self.fields["published_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class RegisterFilterForm(PeriodForm):
    """The period of the publication register, shared by its page and its downloads."""


class StatisticsForm(PeriodForm):
    """The period (the current quarter unless given) and the department the statistics are for."""

    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False, empty_label=_("All departments")
    )

    def period(self) -> statistics.Period:
        """Return the period asked for; an open end runs to today, an open start from its quarter's first day."""
        today = timezone.localdate()
        until = self.cleaned_data.get("until")
        since = self.cleaned_data.get("since") or statistics.Period.quarter_of(until or today).since
        return statistics.Period(since, until or max(since, today))


# What a piece may carry: extension → the file types (by content) that may bear it.
ATTACHMENT_TYPES = {
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
    "png": {"png"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "gif": {"gif"},
    "webp": {"webp"},
}


IMAGE_TYPES = {name: kinds for name, kinds in ATTACHMENT_TYPES.items() if name in {"png", "jpg", "jpeg", "gif", "webp"}}


def check_upload(upload, allowed: dict[str, set[str]]) -> tuple[str, str]:
    """Return the upload's extension (".pdf") and content type, or raise why it may not go with a piece."""
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise forms.ValidationError(
            _("The file is larger than %(size)s MB.") % {"size": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        )
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if extension not in allowed:
        raise forms.ValidationError(
            _("Only these kinds of file can be attached: %(kinds)s.") % {"kinds": ", ".join(allowed)}
        )
    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    upload.seek(0)
    if kind is None or kind.extension not in allowed[extension]:
        raise forms.ValidationError(_("The file's content is not what its name says (.%(ext)s).") % {"ext": extension})
    return f".{extension}", kind.mime


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attach a file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.cleaned_data["extension"], self.cleaned_data["content_type"] = check_upload(upload, ATTACHMENT_TYPES)
        return upload


class NotificationSettingsForm(forms.ModelForm):
    """Which events reach the person in the app and by email, and the language of their emails."""

    app_events = forms.MultipleChoiceField(
        label=_("In the app"), choices=NotificationEvent.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    email_events = forms.MultipleChoiceField(
        label=_("By email"), choices=NotificationEvent.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = NotificationSettings
        fields = ["app_events", "email_events", "language"]


class BulletinForm(forms.Form):
    """An issue of the bulletin: its heading, the editor's note, and the pieces in it, each with its position and
    section heading (read from the rows of the candidates' table: `pieces`, `position_<id>`, `section_<id>`)."""

    title = forms.CharField(label=_("Title"), max_length=100)
    number = forms.IntegerField(label=_("Issue number"), min_value=1, max_value=999)
    issued_on = forms.DateField(
        label=_("Date of issue"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    editor_note = forms.CharField(label=_("Editor's note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    note = forms.CharField(
        label=_("What changed"), required=False, max_length=500,
        help_text=_("Needed once the issue has been submitted: its review starts again."),
    )  # fmt: skip

    def __init__(self, *args, candidates, chosen=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = list(candidates)
        self.chosen = {item.source_id: item for item in chosen}  # the issue's items, when changing it

    def rows(self) -> list[dict]:
        """Return each candidate with what the form shows for it: chosen or not, its position and section."""
        rows = []
        for document in self.candidates:
            item = self.chosen.get(document.pk)
            if self.is_bound:
                picked = str(document.pk) in self.data.getlist("pieces")
                position = self.data.get(f"position_{document.pk}", "")
                section = self.data.get(f"section_{document.pk}", "")
            else:
                picked, position, section = (
                    item is not None,
                    item.position if item else "",
                    item.section if item else "",
                )
            rows.append({"document": document, "picked": picked, "position": position, "section": section})
        return rows

    def clean(self):
        cleaned = super().clean()
        by_id = {str(document.pk): document for document in self.candidates}
        picked = []
        for index, pk in enumerate(self.data.getlist("pieces")):
            if pk not in by_id:
                raise forms.ValidationError(_("Choose pieces from the list."))
            position = self.data.get(f"position_{pk}", "").strip()
            if position and not position.isdigit():
                raise forms.ValidationError(_("A position is a whole number."))
            section = self.data.get(f"section_{pk}", "").strip()[:100]
            picked.append((int(position) if position else 1000 + index, index, bulletins.Item(by_id[pk], section)))
        self.items = [item for _position, _index, item in sorted(picked, key=lambda entry: entry[:2])]
        return cleaned


class ReadingReviewForm(forms.Form):
    """A post-publication review to open: the period published in, its readers, when it is due."""

    title = forms.CharField(
        label=_("Title"), max_length=100, required=False, help_text=_("Leave empty for one made of the period.")
    )
    since = forms.DateField(
        label=_("Published from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        label=_("Published until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    due_on = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Thirty days from today if left empty."),
    )  # fmt: skip
    reviewers = forms.ModelMultipleChoiceField(
        label=_("Readers"),
        queryset=get_user_model()
        .objects.filter(is_active=True, memberships__isnull=False)
        .distinct()
        .order_by("username"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].label_from_instance = lambda user: user.printed_name


class ReadingFindingForm(forms.ModelForm):
    """What a reader found in one publication (the form beside it on the review's page, prefixed with it)."""

    class Meta:
        model = ReadingFinding
        fields = ["verdict", "category", "severity", "note", "corrected"]
        widgets = {"verdict": forms.RadioSelect, "note": forms.TextInput(attrs={"maxlength": 500})}

    def __init__(self, *args, publication, **kwargs):
        super().__init__(*args, **kwargs)
        self.publication_id = publication.pk
        self.fields["category"].queryset = ErrorCategory.objects.filter(is_active=True)
        self.fields["category"].empty_label = _("(a problem's category)")
        self.fields["severity"].choices = [("", _("(its severity)")), *ReadingFinding.Severity.choices]
        self.fields["verdict"].choices = ReadingFinding.Verdict.choices  # no empty choice
