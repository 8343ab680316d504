"""The demo clinic's people at work, for locust: drafters, reviewers, publishers and auditors on their journeys.

Run by bench/bench_load.py (which says how to install locust); by hand, against a server seeded with `seed_demo`
and `seed_bench`:

    locust -f bench/locustfile.py --headless -u 50 -r 5 -t 60s --host http://127.0.0.1:8000

The site runs with production settings behind a pretend TLS proxy: every request says X-Forwarded-Proto: https
(so nothing is redirected), and the session and CSRF cookies, Secure as they should be, are still sent back over
plain HTTP to loopback. Each person signs in once, then works with a second or so between actions. Approvals
and publications are signatures and records made by many simulated people sharing one account, so two may pick
the same piece: the second is refused with 409 Conflict, which is counted under its own name, not as an error.
"""

import random
import re
from urllib.parse import urlsplit

from locust import HttpUser, between, task
from requests.cookies import RequestsCookieJar

PASSWORD = "demo-pass-2026"  # seed_demo's
PIECE_LINK = re.compile(r'href="/documents/(\d+)/"')


class SentOverLoopback(RequestsCookieJar):
    """Keep Secure cookies for plain HTTP too: the TLS proxy this stands in for would have sent them on."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    usernames: tuple[str, ...] = ()

    def on_start(self):
        host = urlsplit(self.host).netloc
        self.client.headers.update({"X-Forwarded-Proto": "https", "Origin": f"https://{host}"})
        self.client.cookies = SentOverLoopback()
        self.client.get("/accounts/login/", name="login page")
        self.post("/accounts/login/", {"username": random.choice(self.usernames), "password": PASSWORD}, "log in")

    def post(self, path: str, data: dict, name: str, *, expect=(302,)):
        """POST a form as the browser would (with the CSRF token); a 409 is a piece someone else took first."""
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        with self.client.post(path, data=data, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code == 409:
                response.request_meta["name"] = f"{name} (taken by another)"
                response.success()
            elif response.status_code in expect:
                response.success()
            else:
                response.failure(f"{response.status_code}")
            return response

    def pick(self, path: str, name: str) -> int | None:
        """Open a list page and return one of the pieces it links to, at random."""
        pieces = PIECE_LINK.findall(self.client.get(path, name=name).text)
        return int(random.choice(pieces)) if pieces else None


def form_values(html: str, action: str) -> dict:
    """Return the hidden and pre-filled inputs and the selected options of the form posting to `action`."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    if not match:
        return {}
    form = match.group(0)
    values = dict(re.findall(r'<input type="(?:hidden|text|datetime-local)" name="([^"]+)" value="([^"]*)"', form))
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) or re.search(
            r'<option value="([^"]+)"', options
        )
        if chosen:
            values[name] = chosen.group(1)
    values["_radios"] = sorted(set(re.findall(r'type="radio" name="([^"]+)"', form)))
    return values


class Drafter(Person):
    weight = 3
    usernames = ("drafter",)

    @task(3)
    def look_at_my_pieces(self):
        if pk := self.pick("/documents/", "pieces list"):
            self.client.get(f"/documents/{pk}/", name="piece")

    @task(1)
    def write_and_submit(self):
        page = self.client.get("/documents/new/", name="new piece form").text
        department = re.search(r'<select name="department".*?<option value="(\d+)"[^>]*selected', page, re.S)
        number = random.randrange(1_000_000)
        created = self.post(
            "/documents/new/",
            {
                "title": f"负载测试稿件 {number}",
                "body": f"<p>负载测试稿件 {number} 的正文。</p>",
                "department": department.group(1) if department else "",
                "kind": "news",
                "channels": ["website"],
            },
            "create piece",
        )
        if created.status_code == 302:
            self.post(f"{urlsplit(created.headers['Location']).path}submit/", {"note": ""}, "submit")


class Reviewer(Person):
    weight = 3
    usernames = ("officer", "head", "leader")

    @task(2)
    def look_at_the_queue(self):
        self.client.get("/queue/", name="queue")

    @task(1)
    def approve_one(self):
        pk = self.pick("/queue/", "queue")
        if pk is None:
            return
        action = f"/documents/{pk}/approve/"
        form = form_values(self.client.get(f"/documents/{pk}/", name="piece").text, action)
        if not form:
            return  # someone else signed this stage a moment ago
        answers = dict.fromkeys(form.pop("_radios"), "yes")
        self.post(action, {**form, **answers, "opinion": "同意。", "password": PASSWORD}, "approve")


class Publisher(Person):
    weight = 1
    usernames = ("publisher",)

    @task
    def publish_one(self):
        pk = self.pick("/publish/", "publish queue")
        if pk is None:
            return
        action = f"/documents/{pk}/publish/"
        form = form_values(self.client.get(f"/documents/{pk}/", name="piece").text, action)
        if form:
            form.pop("_radios")
            self.post(action, form, "publish")


class Auditor(Person):
    weight = 1
    usernames = ("auditor",)

    @task(3)
    def read_the_log(self):
        self.client.get("/audit/", name="audit log")

    @task(1)
    def read_the_register(self):
        self.client.get("/register/", name="register")

    @task(1)
    def export_one_pieces_events(self):
        if pk := self.pick("/documents/", "pieces list"):
            self.post("/audit/exports/", {"format": "csv", "document": pk}, "audit CSV export", expect=(200,))
