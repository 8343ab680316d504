"""What the API reads and writes. Writes are validated here and carried out by review.services."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status

from accounts.models import Department, Membership, User
from audit.forms import MAX_ID
from audit.models import AuditEvent

from .. import proofreading, services
from ..models import (
    Channel,
    ChecklistAnswer,
    Document,
    ErrorCategory,
    Kind,
    Notification,
    Publication,
    RecordedError,
    Revision,
    RouteChecklistItem,
    RouteStage,
    StageReview,
)
from ..models.choices import CREATABLE_KINDS
from ..signoff import signatures


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number or a string of digits: never 1.5 taken as 1, nor true as 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or isinstance(data, float) or (isinstance(data, str) and not data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object named by its id, an integer: 1.5 or "1.5" is an error, not object 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and data.isdigit())):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if int(data) > MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def locked_out(http_request) -> bool:
    """Return whether django-axes refused the attempt because the user name is locked out.

    Axes marks the request for its middleware, which would answer with the login page's lockout template;
    the API answers for itself, in JSON, so the mark is taken off.
    """
    return bool(http_request.__dict__.pop("axes_locked_out", False))


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many failed attempts: this user name is locked for a while. Try again later.")
    default_code = "locked_out"


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("Why the request was refused."))


# Signing in.


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)

    def validate(self, attrs):
        # Through authenticate(), like the login page: a failure is logged and counts toward lockout.
        request = self.context["request"]
        user = authenticate(request._request, username=attrs["username"], password=attrs["password"])
        if locked_out(request._request):
            raise LockedOut
        if user is None:
            raise serializers.ValidationError(
                _("Unable to log in with that user name and password."), code="authorization"
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send it as `Authorization: Token <token>`."))


# People.


class PersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="printed_name", help_text=_("The printed name."))


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "code"]


class RoleSerializer(serializers.ModelSerializer):
    department = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("Null for a role that serves the whole organisation.")
    )

    class Meta:
        model = Membership
        fields = ["role", "department"]


class MeSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(source="printed_name", help_text=_("The name printed beside signatures."))
    roles = RoleSerializer(source="memberships", many=True)
    departments = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["username", "display_name", "roles", "departments"]

    @extend_schema_field(DepartmentSerializer(many=True))
    def get_departments(self, user):
        departments = {m.department.pk: m.department for m in user.memberships.all() if m.department_id}
        return DepartmentSerializer(sorted(departments.values(), key=lambda d: d.name), many=True).data


# Pieces.


class StageSerializer(serializers.ModelSerializer):
    """A stage of the piece's own route (copied from its workflow when first submitted)."""

    class Meta:
        model = RouteStage
        fields = ["id", "name", "position", "role"]


class RevisionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Revision
        fields = ["number", "content_hash"]


class RevisionSerializer(serializers.ModelSerializer):
    author = PersonSerializer()
    corrected_at = serializers.CharField(
        source="stage.meanings", allow_null=True, default=None, help_text=_("The stage a proofreader corrected it at.")
    )

    class Meta:
        model = Revision
        fields = ["number", "title", "body", "content_hash", "author", "corrected_at", "note", "created_at"]


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    category = serializers.CharField()
    severity = serializers.ChoiceField(choices=["high", "medium", "low"])
    start = serializers.IntegerField(
        help_text=_("Where it starts in the piece's text (the title, a blank line, the body).")
    )
    end = serializers.IntegerField()
    excerpt = serializers.CharField()
    message = serializers.CharField(help_text=_("Why it is pointed out."))
    suggestion = serializers.CharField(allow_blank=True)
    dismissed = serializers.BooleanField()
    dismissal = serializers.CharField(allow_blank=True, help_text=_("Why a reviewer dismissed it."))


class DismissSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=50)
    excerpt = serializers.CharField(max_length=200)
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")


class DiffSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["equal", "insert", "delete"])
    text = serializers.CharField()


class DiffQuerySerializer(serializers.Serializer):
    from_ = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text=_("The revision number to compare from."))
    to = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text=_("The revision number to compare with."))

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouteChecklistItem
        fields = ["id", "part", "text"]


class AnsweredSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    part = serializers.CharField(source="item.part")
    text = serializers.CharField(source="item.text")

    class Meta:
        model = ChecklistAnswer
        fields = ["item", "part", "text", "ok", "note"]


class RecordedErrorSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")

    class Meta:
        model = RecordedError
        fields = ["category", "weight", "count", "note"]


class SignatureSerializer(serializers.ModelSerializer):
    """A signature: both its meanings (初审/初校), its checklist answers, the errors found and the error rate."""

    meanings = serializers.CharField(help_text=_("What the signature means for both parts, e.g. 初审/初校."))
    checklist = AnsweredSerializer(source="answers", many=True)
    errors = RecordedErrorSerializer(many=True)
    error_rate = serializers.SerializerMethodField(help_text=_("Weighted errors per 10,000 characters, as text."))

    class Meta:
        model = StageReview
        fields = [
            "meaning", "meanings", "signer_name", "on_behalf_of_name", "signer_role", "decision", "opinion",
            "decided_at", "revision_hash", "round", "checklist", "errors", "error_rate",
        ]  # fmt: skip

    def get_error_rate(self, review) -> str:
        return str(proofreading.review_error_rate(review))


class CurrentReviewSerializer(serializers.ModelSerializer):
    """The stage waiting for a decision, and the checklist its signature must answer."""

    stage = serializers.CharField(source="meaning")
    meanings = serializers.CharField()
    checklist = ChecklistItemSerializer(source="stage.checklist", many=True)
    claimed_by = PersonSerializer(allow_null=True, help_text=_("Who is on it (claimed, or assigned), if anyone."))
    due_at = serializers.DateTimeField(allow_null=True, help_text=_("When the stage is due, if it has a limit."))
    signatures_needed = serializers.SerializerMethodField(
        help_text=_("How many different people must approve at this stage (its quorum; 1 at most stages).")
    )
    signatures_given = serializers.SerializerMethodField(
        help_text=_("How many of them have signed so far (their signatures are in the piece's `signatures`).")
    )

    class Meta:
        model = StageReview
        fields = [
            "id", "stage", "meanings", "checklist", "claimed_by", "due_at", "signatures_needed", "signatures_given",
        ]  # fmt: skip

    def get_signatures_needed(self, review) -> int:
        return self._signatures(review)[1]

    def get_signatures_given(self, review) -> int:
        return self._signatures(review)[0]

    @staticmethod
    def _signatures(review) -> tuple[int, int]:
        if not hasattr(review, "signatures"):
            review.signatures = review.document.signatures_at_stage()
        return review.signatures


class PublicationSerializer(serializers.ModelSerializer):
    publisher = PersonSerializer()

    class Meta:
        model = Publication
        fields = ["channel", "url", "published_at", "publisher"]


class DocumentSerializer(serializers.ModelSerializer):
    """A piece as listed (Document.objects.with_related() keeps this to a fixed number of queries)."""

    department_name = serializers.CharField(source="department.name", read_only=True)
    drafter = PersonSerializer(read_only=True)
    current_stage = StageSerializer(read_only=True, allow_null=True)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    is_due_soon = serializers.BooleanField(read_only=True)

    class Meta:
        model = Document
        fields = [
            "id", "title", "summary", "state", "current_stage", "department", "department_name", "drafter", "kind",
            "channels", "source", "is_major", "is_urgent", "due_date", "stage_due_at", "is_overdue", "is_due_soon",
            "round", "created_at", "updated_at", "submitted_at",
        ]  # fmt: skip
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    """A piece with its content, the revision it is at, its signatures and what the caller may do with it."""

    revision = RevisionSummarySerializer(source="current_revision", read_only=True, allow_null=True)
    current_review = serializers.SerializerMethodField(
        help_text=_(
            "The stage review waiting for a decision, with the checklist to answer. Send its id as `review` with a "
            "decision to be told (409) when someone else decided first."
        )
    )
    signatures = serializers.SerializerMethodField()
    publications = PublicationSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(help_text=_("What the caller may do with the piece now."))

    class Meta(DocumentSerializer.Meta):
        fields = [
            *DocumentSerializer.Meta.fields, "body", "revision", "submission_note", "current_review", "signatures",
            "publications", "actions",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CurrentReviewSerializer(allow_null=True))
    def get_current_review(self, document):
        if document.state != Document.State.IN_REVIEW:
            return None
        review = next(
            (
                review
                for review in document.stage_reviews.all()
                if review.round == document.round
                and review.stage_id == document.current_stage_id
                and review.decision == StageReview.Decision.PENDING
            ),
            None,
        )
        return CurrentReviewSerializer(review).data if review else None

    @extend_schema_field(SignatureSerializer(many=True))
    def get_signatures(self, document):
        return SignatureSerializer(signatures(document.stage_reviews.all()), many=True).data

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(
                choices=["edit", "submit", "correct", "approve", "return", "reject", "publish", "withdraw"]
            )
        )
    )
    def get_actions(self, document):
        return self.context.get("actions", [])


class DocumentWriteSerializer(serializers.Serializer):
    """A new piece: saved as a draft by its drafter."""

    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text=_("The digest, e.g. for WeChat.")
    )
    body = serializers.CharField(help_text=_("HTML; reduced to the formatting the editor offers."))
    department = StrictPrimaryKeyRelatedField(queryset=Department.objects.all())
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), allow_empty=False)
    is_major = serializers.BooleanField(default=False)
    is_urgent = serializers.BooleanField(default=False, help_text=_("Urgent pieces run on shorter stage limits."))
    kind = serializers.ChoiceField(choices=CREATABLE_KINDS, default=Kind.NEWS)
    source = serializers.CharField(max_length=200, allow_blank=True, default="")
    due_date = serializers.DateField(allow_null=True, default=None)

    def validate_body(self, value):
        # The service's own check, here too, so that an empty body is reported with the other fields.
        try:
            return services.clean_body(value)
        except services.Invalid as refusal:
            raise serializers.ValidationError(refusal.message) from None

    def validate_channels(self, value):
        return list(dict.fromkeys(value))


class DocumentUpdateSerializer(DocumentWriteSerializer):
    """Changes to a piece by its drafter (send only what changes). A piece in review or approved goes back to its
    first stage with the change: say what changed in `note`."""

    department = None  # The department decides who reviews; it is fixed once the piece exists.
    note = serializers.CharField(
        allow_blank=True,
        required=False,
        write_only=True,
        help_text=_("What changed, for the reviewers: required when the piece is in review or approved."),
    )

    def validate(self, attrs):
        if "department" in self.initial_data:
            raise serializers.ValidationError({"department": _("The department is fixed once the piece exists.")})
        return attrs


class SubmitSerializer(serializers.Serializer):
    note = serializers.CharField(
        allow_blank=True,
        default="",
        help_text=_("What changed since the piece was returned: required when resubmitting a returned piece."),
    )


class NothingSerializer(serializers.Serializer):
    """No body needed."""


class ReassignSerializer(serializers.Serializer):
    to = StrictPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), help_text=_("The person who takes the stage over.")
    )


class CorrectionSerializer(serializers.Serializer):
    """A proofreader's correction of the text at the current stage."""

    title = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text=_("HTML; reduced to the formatting the editor offers."))
    note = serializers.CharField(allow_blank=True, default="", help_text=_("What was corrected (optional)."))

    validate_body = DocumentWriteSerializer.validate_body


class DocumentFilterSerializer(serializers.Serializer):
    """The pieces list's search and filters, as on the web page."""

    q = serializers.CharField(required=False, max_length=100, help_text=_("Words in the title or the text."))
    state = serializers.ChoiceField(choices=Document.State.choices, required=False)
    department = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    since = serializers.DateField(required=False, help_text=_("Written on or after this day."))
    until = serializers.DateField(required=False, help_text=_("Written on or before this day."))
    mine = serializers.BooleanField(required=False, default=False, help_text=_("Only the caller's own pieces."))
    overdue = serializers.BooleanField(required=False, default=False, help_text=_("Only pieces in review past due."))


# Decisions.


class DecisionSerializer(serializers.Serializer):
    review = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("The piece's current_review when you read it: a stage someone else has decided since is a 409."),
    )


class ErrorCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ErrorCategory
        fields = ["id", "name", "weight"]


class ChecklistAnswerSerializer(serializers.Serializer):
    item = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text=_("The question's id."))
    ok = serializers.BooleanField(help_text=_("Yes (true) or no (false)."))
    note = serializers.CharField(allow_blank=True, default="", max_length=500, help_text=_("What is wrong, for a no."))


class ErrorCountSerializer(serializers.Serializer):
    category = StrictIntegerField(min_value=1, max_value=MAX_ID)
    count = StrictIntegerField(min_value=0, max_value=10_000)
    note = serializers.CharField(allow_blank=True, default="", max_length=300)


class ApproveSerializer(DecisionSerializer):
    """An approval is an electronic signature: the signer re-enters their password."""

    opinion = serializers.CharField(allow_blank=True, default="")
    checklist = serializers.ListField(
        child=ChecklistAnswerSerializer(),
        default=list,
        help_text=_("An answer to every question of current_review's checklist; a note for each `ok: false`."),
    )
    errors = serializers.ListField(
        child=ErrorCountSerializer(),
        default=list,
        help_text=_("The errors the proofreader found and corrected, by category (GET /api/v1/error-categories/)."),
    )
    password = serializers.CharField(
        max_length=4096,
        trim_whitespace=False,
        write_only=True,
        error_messages={
            "required": _("Enter your password to sign the approval."),
            "blank": _("Enter your password to sign the approval."),
        },
    )


class ReasonSerializer(DecisionSerializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False, default="")


class PublishSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=_("One of the piece's approved channels."))
    url = serializers.URLField(max_length=200, allow_blank=True, default="")
    published_at = serializers.DateTimeField(required=False, help_text=_("When it went out; now if left out."))


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, default="", help_text=_("Why the piece is withdrawn (optional)."))


# The audit log.


class DocumentEventSerializer(serializers.ModelSerializer):
    """An event in a piece's history, as its page shows it (network details are for auditors)."""

    data = serializers.JSONField()

    class Meta:
        model = AuditEvent
        fields = [
            "sequence", "created_at", "action", "actor_name", "actor_role", "from_state", "to_state", "comment",
            "content_hash", "data",
        ]  # fmt: skip


class AuditEventSerializer(serializers.ModelSerializer):
    """An event with every hashed field as stored, and its hash: the chain can be recomputed from these."""

    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    data = serializers.JSONField()

    class Meta:
        model = AuditEvent
        fields = [
            "sequence", "created_at", "actor", "actor_name", "actor_role", "action", "object_type", "object_id",
            "object_repr", "scope", "content_hash", "from_state", "to_state", "comment", "ip_address", "user_agent",
            "request_id", "data", "prev_hash", "hash", "signature",
        ]  # fmt: skip


class AuditFilterSerializer(serializers.Serializer):
    """The audit page's filters (validated by AuditFilterForm; this describes them in the schema)."""

    since = serializers.DateField(required=False, help_text=_("From this day (local time zone)."))
    until = serializers.DateField(required=False, help_text=_("Until this day, included."))
    department = serializers.IntegerField(required=False)
    document = serializers.CharField(required=False, help_text=_("The piece: its number, or its title."))
    actor = serializers.IntegerField(required=False)
    action = serializers.CharField(required=False, help_text=_("An action code, e.g. approved or login_failed."))


class AuditExportSerializer(AuditFilterSerializer):
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])


class ExportManifestSerializer(serializers.Serializer):
    export_id = serializers.IntegerField()
    status = serializers.CharField()
    format = serializers.CharField()
    file = serializers.CharField()
    filters = serializers.DictField(child=serializers.CharField())
    row_count = serializers.IntegerField(allow_null=True)
    first_sequence = serializers.IntegerField(allow_null=True)
    last_sequence = serializers.IntegerField(allow_null=True)
    head_sequence = serializers.IntegerField(allow_null=True)
    head_hash = serializers.CharField()
    checkpoint = serializers.DictField(help_text=_("The newest signed checkpoint when the export began."))
    sha256 = serializers.CharField()
    generated_at = serializers.DateTimeField(allow_null=True)
    time_zone = serializers.CharField()


# Notifications.


class NotificationSerializer(serializers.ModelSerializer):
    message = serializers.CharField(read_only=True, help_text=_("What happened, in the caller's language."))
    title = serializers.CharField(source="document.title", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True, help_text=_("The piece's page."))

    class Meta:
        model = Notification
        fields = ["id", "event", "message", "document", "title", "stage", "actor_name", "reason", "url",
                  "created_at", "read_at"]  # fmt: skip
        read_only_fields = fields


class NotificationListSerializer(serializers.Serializer):
    unread = serializers.IntegerField()
    results = NotificationSerializer(many=True)


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=100,
        help_text=_("The notifications to mark read; all of them when left out."),
    )


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class PublishQueueChannelSerializer(serializers.Serializer):
    """One channel of the publishers' queue and the pieces waiting to go out on it."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    label = serializers.CharField(help_text=_("The channel's name, in the caller's language."))
    documents = DocumentSerializer(many=True)
