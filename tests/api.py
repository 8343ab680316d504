"""Helpers for the API tests: a client that carries a user's token, and a clean throttle for each test."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def api_client(user=None) -> APIClient:
    """Return an API client that sends `user`'s token (or no credentials at all)."""
    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(autouse=True)
def clean_throttles():
    # Throttle counts live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()
