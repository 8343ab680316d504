"""Several app servers share one database: a person can move between them at every request.

Two gunicorn processes (production settings, loopback ports) and one background worker share one database of the
suite's own kind: a SQLite file in the SQLite pass, a PostgreSQL database of its own on the suite's server in the
PostgreSQL pass. Uploads and exports go to one shared directory, standing in for the object storage of a real
deployment (docs/deployment.md). The people of the demo clinic use them through plain HTTP, each request going
to the other server than the one before: the whole journey from draft to published, an audit export started on
one and downloaded from the other, and drafters writing on both at once, after which the audit chain verifies.
"""

import contextlib
import hashlib
import http.client
import itertools
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode, urlsplit

import psycopg
import pytest
from django.db import connection

from tests.test_production_deploy import ROOT, gunicorn, production_env, run

PASSWORD = "demo-pass-2026"  # seed_demo's
INTACT = re.compile(r"Audit chain intact: (\d+) events")


@pytest.fixture
def shared_database(tmp_path):
    """Return the URL of an empty database of the suite's own kind, dropped at the end."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    params = connection.settings_dict
    name = f"imprimatur_app_servers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        host=params["HOST"] or None, port=params["PORT"] or None, user=params["USER"] or None,
        password=params["PASSWORD"] or None, dbname="postgres", autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            user = quote(params["USER"] or "")
            password = f":{quote(params['PASSWORD'])}" if params["PASSWORD"] else ""
            yield f"postgres://{user}{password}@{params['HOST'] or 'localhost'}:{params['PORT'] or 5432}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def worker(env: dict):
    """Run the background worker (tasks and the chain's checkpoints) until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


class Form(HTMLParser):
    """The fields of the form posting to `action` ("" for a form posting to its own page), with the values a
    browser would send as they stand."""

    def __init__(self, html: str, action: str):
        super().__init__()
        self.action, self.inside, self.select = action, False, None
        self.values: dict[str, str | list[str]] = {}
        self.radios: set[str] = set()  # questions left for the person to answer
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action", "") == self.action
        elif not self.inside:
            return
        elif tag == "option" and self.select:
            # The selected option, or else the first.
            if "selected" in attrs or self.select not in self.values:
                self.values[self.select] = attrs.get("value", "")
        elif "name" not in attrs:
            return
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "textarea":
            self.values.setdefault(attrs["name"], "")
        elif tag == "input" and attrs.get("type") == "radio":
            self.radios.add(attrs["name"])
        elif tag == "input" and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


@dataclass
class Response:
    server: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def location(self) -> str:
        return urlsplit(self.headers["Location"]).path


@dataclass
class Visitor:
    """One person's browser, sending each request to the next server in turn.

    Cookies are kept by hand: the site's are Secure (production settings), and this is plain HTTP behind a
    pretend TLS proxy (X-Forwarded-Proto), which http.cookiejar would not send them over.
    """

    servers: list[str]
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.turn = itertools.cycle(self.servers)

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        base = next(self.turn)
        host = urlsplit(base).netloc
        headers = {"X-Forwarded-Proto": "https", "Host": host}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if method == "POST":
            body = urlencode({**(data or {}), "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}, doseq=True)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{host}"}
        conn = http.client.HTTPConnection(host, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            response = Response(base, answer.status, answer.headers, answer.read())
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        assert response.status < 400, f"{method} {path} on {base}: {response.status}\n{response.text[:3000]}"
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict) -> Response:
        return self.request("POST", path, data)

    def log_in(self, username: str) -> "Visitor":
        self.get("/accounts/login/")
        answer = self.post("/accounts/login/", {"username": username, "password": PASSWORD})
        assert answer.status == 302, answer.text[:2000]
        return self


def write_and_submit(person: Visitor, title: str) -> int:
    """Write a piece as the drafter, submit it; return its number."""
    page = person.get("/documents/new/")
    values = Form(page.text, "").values
    values |= {"title": title, "body": f"<p>{title}：正文。</p>", "kind": "news", "channels": ["website"]}
    created = person.post("/documents/new/", values)
    assert created.status == 302, re.findall(r'class="errors"[^>]*>(.*?)</div>', created.text, re.S)
    pk = int(re.fullmatch(r"/documents/(\d+)/", created.location).group(1))
    assert person.post(f"/documents/{pk}/submit/", {"note": ""}).status == 302
    return pk


def approve(person: Visitor, pk: int) -> None:
    """Sign the piece's current stage with every checklist question answered yes."""
    action = f"/documents/{pk}/approve/"
    form = Form(person.get(f"/documents/{pk}/").text, action)
    assert form.radios, f"no decision form for {pk}"
    values = form.values | dict.fromkeys(form.radios, "yes") | {"opinion": "同意。", "password": PASSWORD}
    assert person.post(action, values).status == 302


def state_of(person: Visitor, pk: int) -> str:
    return re.search(r'class="state state-([a-z_]+)"', person.get(f"/documents/{pk}/").text).group(1)


def test_two_app_servers_share_one_database(tmp_path, shared_database):
    # The static files' compressed copies are left out: making them is most of a minute, and no asset is fetched.
    env = production_env(tmp_path) | {"DATABASE_URL": shared_database, "DJANGO_STATIC_COMPRESS": "0"}
    run(env, "migrate", "--no-input", "--verbosity", "0")
    run(env, "collectstatic", "--no-input", "--verbosity", "0")
    run(env, "seed_demo", "--no-history")
    with worker(env), gunicorn(env, threads=4) as first, gunicorn(env, threads=4) as second:
        servers = [first, second]

        # The whole journey, each request on the other server than the one before.
        drafter = Visitor(servers).log_in("drafter")
        pk = write_and_submit(drafter, "两台服务器之间的稿件")
        for reviewer in ("officer", "head", "leader"):
            approve(Visitor(servers).log_in(reviewer), pk)
        assert state_of(drafter, pk) == "approved"
        publisher = Visitor(servers).log_in("publisher")
        form = Form(publisher.get(f"/documents/{pk}/").text, f"/documents/{pk}/publish/")
        assert publisher.post(f"/documents/{pk}/publish/", form.values).status == 302
        assert state_of(drafter, pk) == "published"

        # An export started on one server, made by the worker, downloaded from the other.
        auditor = Visitor([first]).log_in("auditor")
        started = auditor.post("/audit/exports/", {"format": "xlsx"})
        job = started.location
        elsewhere = Visitor([second], cookies=auditor.cookies)
        deadline = time.monotonic() + 30
        while f"{job}download/" not in (page := elsewhere.get(job)).text:
            assert time.monotonic() < deadline, page.text[:2000]
            time.sleep(0.2)
        download = elsewhere.get(f"{job}download/")
        assert download.body[:2] == b"PK"
        manifest = json.loads(auditor.get(f"{job}manifest.json").body)
        assert manifest["sha256"] == hashlib.sha256(download.body).hexdigest()

        # Drafters writing on both servers at once: every piece is saved, and the chain stays whole.
        written, failures = [], []

        def draft(number: int) -> None:
            try:
                person = Visitor(servers[number % 2 :] + servers[: number % 2]).log_in("drafter")
                written.extend(write_and_submit(person, f"并发稿件 {number}-{n}") for n in range(3))
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                failures.append(error)

        threads = [threading.Thread(target=draft, args=(number,)) for number in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        assert len(set(written)) == 12

    verified = run(env, "verify_audit")
    assert INTACT.search(verified), verified
