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
def clean_throttles():
    # Throttle counts live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()
