"""Redlines: a character-level diff between any two revisions, on the piece's page and in the API."""

import pytest

from review import services
from review.redline import diff, folded
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db


def joined(operations, *ops) -> str:
    return "".join(operation["text"] for operation in operations if operation["op"] in ops)


def test_it_diffs_chinese_character_by_character():
    old = "请广大居民相互转告，如有疑问请咨询卫生院。"
    new = "请广大村民相互转告，如有疑问请致电卫生院。"

    operations = diff(old, new)

    assert joined(operations, "equal", "delete") == old
    assert joined(operations, "equal", "insert") == new
    assert joined(operations, "delete") == "居咨询"
    assert joined(operations, "insert") == "村致电"


def test_it_shows_insertions_deletions_and_a_moved_sentence():
    old = "第一句。第二句。第三句。"
    new = "第二句。第一句。第三句，补充说明。"

    operations = diff(old, new)

    assert joined(operations, "equal", "delete") == old
    assert joined(operations, "equal", "insert") == new
    assert {operation["op"] for operation in operations} == {"equal", "insert", "delete"}


def test_identical_texts_are_one_unchanged_run():
    assert diff("没有改动", "没有改动") == [{"op": "equal", "text": "没有改动"}]


def test_long_unchanged_runs_are_folded_with_context_around_each_change():
    unchanged = "字" * 1000
    pieces = folded(
        [{"op": "equal", "text": unchanged}, {"op": "insert", "text": "新"}, {"op": "equal", "text": unchanged}]
    )

    assert [(piece.op, len(piece.text), piece.folded) for piece in pieces] == [
        ("fold", 0, 940),
        ("equal", 60, 0),
        ("insert", 1, 0),
        ("equal", 60, 0),
        ("fold", 0, 940),
    ]


def test_the_api_lists_revisions_and_diffs_two_of_them(drafter, officer, head):
    document = factories.make_document(drafter=drafter, title="接种通知", body="<p>周二上午接种。</p>")
    services.edit_document(document=document, user=drafter, body="<p>周三上午接种，请带身份证。</p>")

    revisions = api_client(drafter).get(f"/api/v1/documents/{document.pk}/revisions/").json()
    changes = api_client(drafter).get(f"/api/v1/documents/{document.pk}/diff/", {"from": 1, "to": 2}).json()

    assert [revision["number"] for revision in revisions] == [1, 2]
    assert revisions[1]["corrected_at"] is None
    assert joined(changes, "equal", "delete") == "接种通知\n\n周二上午接种。"
    assert joined(changes, "equal", "insert") == "接种通知\n\n周三上午接种，请带身份证。"
    assert (joined(changes, "delete"), joined(changes, "insert")) == ("二", "三，请带身份证")


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"from": 1, "to": 9}, {"to"}),
        ({"from": 0, "to": 1}, {"from"}),
        ({"to": 1}, {"from"}),
        ({"from": "x", "to": 1}, {"from"}),
    ],
)
def test_the_api_refuses_revisions_the_piece_does_not_have(drafter, query, errors):
    document = factories.make_document(drafter=drafter)

    response = api_client(drafter).get(f"/api/v1/documents/{document.pk}/diff/", query)

    assert response.status_code == 400
    assert set(response.json()) == errors


def test_the_diff_of_a_hidden_piece_is_a_404(drafter, outsider):
    document = factories.make_document(drafter=drafter)

    assert api_client(outsider).get(f"/api/v1/documents/{document.pk}/diff/", {"from": 1, "to": 1}).status_code == 404


def test_a_reviewer_sees_what_changed_since_they_last_signed(client_for, drafter, officer, head):
    document = factories.make_document(drafter=drafter, title="接种通知", body="<p>周二上午接种。</p>")
    factories.approve_by(factories.submit(document), officer)
    services.return_for_changes(document=document, user=head, reason="请写明地点。")
    services.edit_document(document=document, user=drafter, body="<p>周二上午在卫生院二楼接种。</p>")
    services.edit_document(document=document, user=drafter, title="疫苗接种通知")
    factories.submit(document)

    page = client_for(officer).get(document.get_absolute_url())

    comparison = page.context["comparison"]
    assert comparison["since_signed"] is True
    assert (comparison["old"].number, comparison["new"].number) == (1, 3)
    inserted = "".join(piece.text for piece in comparison["pieces"] if piece.op == "insert")
    assert inserted == "疫苗在卫生院二楼"
    assert "<ins>疫苗</ins>" in page.content.decode()


def test_anyone_may_choose_which_revisions_to_compare(client_for, drafter):
    document = factories.make_document(drafter=drafter, body="<p>一稿</p>")
    services.edit_document(document=document, user=drafter, body="<p>二稿</p>")
    services.edit_document(document=document, user=drafter, body="<p>三稿</p>")

    page = client_for(drafter).get(document.get_absolute_url(), {"from": 1, "to": 2})
    partial = client_for(drafter).get(
        document.get_absolute_url(), {"from": 2, "to": 3}, headers={"HX-Target": "changes"}
    )

    assert (page.context["comparison"]["old"].number, page.context["comparison"]["new"].number) == (1, 2)
    assert partial.content.decode().lstrip().startswith('<section class="card" id="changes"')
    assert "<del>二</del>" in partial.content.decode() and "<ins>三</ins>" in partial.content.decode()


def test_a_piece_with_one_revision_has_nothing_to_compare(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    assert client_for(drafter).get(document.get_absolute_url()).context["comparison"] is None
