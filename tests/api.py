"""Helpers for the API tests: a client that carries a user's token, and a clean throttle for each test."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tokens import issue_token


def api_client(user=None) -> APIClient:
    """Return an API client that sends `user`'s token (or no credentials at all)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture(autouse=True)
def clean_throttles(request):
    """Start and end each test with no throttle counts: they live in the database cache, whose table a
    transactional test's clean-up does not empty. A test without a database has no cache to clean."""
    if "db" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    cache.clear()
    yield
    cache.clear()
