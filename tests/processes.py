"""Processes standing in for app servers: each has its own database connection, and several can act at once.

The servers are fresh interpreters (the "spawn" start method), so they inherit no connection, cache or state
from the test. Each sets Django up once, then runs calls it is sent: it points its default connection at the
database named in the call (the test database, or a file of the test's own), imports the function by name,
runs it, closes its connection and reports back. Servers that race wait on a barrier just before they act.
"""

import importlib
import multiprocessing
import os
import queue
import traceback
from dataclasses import dataclass

CONTEXT = multiprocessing.get_context("spawn")
TIMEOUT_SECONDS = 60
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Outcome:
    """What one call came to: "ok" with what it returned, or the refusal it raised, by class name (a service's
    `Conflict`, `NotAllowed`, `Invalid`...)."""

    result: str
    value: object = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "ok"


class Servers:
    """`size` server processes; use as a context manager, which stops them at the end."""

    def __init__(self, size: int = 4):
        self.size = size
        self.barriers = {parties: CONTEXT.Barrier(parties) for parties in range(1, size + 1)}
        self.results = CONTEXT.Queue()
        self.inboxes = [CONTEXT.Queue() for _ in range(size)]
        self.processes = [
            CONTEXT.Process(target=_serve, args=(number, inbox, self.results, self.barriers), daemon=True)
            for number, inbox in enumerate(self.inboxes)
        ]

    def __enter__(self) -> "Servers":
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc_info) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=TIMEOUT_SECONDS)
            if process.is_alive():
                process.kill()

    def run(self, database: str, function, *args, **kwargs):
        """Call `function(*args, **kwargs)` on one server against `database`; return what it returns."""
        [outcome] = self._send(database, function, [(args, kwargs)], barrier=None)
        if not outcome.ok:
            raise AssertionError(f"{function.__qualname__} was refused: {outcome.result}: {outcome.message}")
        return outcome.value

    def race(self, database: str, function, calls: list[tuple[tuple, dict]]) -> list[Outcome]:
        """Call `function` once per (args, kwargs) of `calls`, each on a server of its own, all at one moment.

        `function` is given a `start` barrier as a keyword argument and waits on it just before acting.
        Outcomes come back in the order of `calls`.
        """
        if len(calls) > self.size:
            raise ValueError(f"{len(calls)} racers, {self.size} servers")
        barrier = len(calls)
        self.barriers[barrier].reset()  # in case an earlier race broke it
        return self._send(database, function, calls, barrier=barrier)

    def _send(self, database: str, function, calls, *, barrier: int | None) -> list[Outcome]:
        target = f"{function.__module__}:{function.__qualname__}"
        for inbox, (args, kwargs) in zip(self.inboxes, calls, strict=False):
            inbox.put((database, target, args, kwargs, barrier))
        outcomes = {}
        try:
            for _ in calls:
                number, outcome = self.results.get(timeout=TIMEOUT_SECONDS)
                outcomes[number] = outcome
        except queue.Empty:
            raise AssertionError(f"{target}: only {len(outcomes)} of {len(calls)} servers answered") from None
        crashed = [outcome.message for outcome in outcomes.values() if outcome.result == "crashed"]
        if crashed:
            raise AssertionError(f"{target} crashed on a server:\n" + "\n".join(crashed))
        return [outcomes[number] for number in range(len(calls))]


def _serve(number: int, inbox, results, barriers) -> None:
    # A spawned server starts from nothing: Django is set up before importing what needs it (hence the noqa).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.contrib.contenttypes.models import ContentType  # noqa: PLC0415
    from django.core.exceptions import PermissionDenied  # noqa: PLC0415
    from django.db import connections  # noqa: PLC0415
    from guardian.shortcuts import clear_ct_cache  # noqa: PLC0415

    from review.services import Refusal  # noqa: PLC0415

    # As in the test's own process (tests/conftest.py): the tests check that passwords work, not how they are
    # stored, and signatures are checked by password, which Argon2 would make slow.
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS

    while (call := inbox.get()) is not None:
        database, target, args, kwargs, barrier = call
        try:
            # What Django's test runner does to point a connection at the test database.
            settings.DATABASES["default"]["NAME"] = database
            connections["default"].settings_dict["NAME"] = database
            # The test database is emptied and refilled between tests, so content type ids cached from the last
            # one are stale: forget them, as the test's own process does after each flush (post_migrate).
            ContentType.objects.clear_cache()
            clear_ct_cache()
            module, name = target.split(":")
            function = getattr(importlib.import_module(module), name)
            if barrier is not None:
                kwargs = {**kwargs, "start": barriers[barrier]}
            try:
                outcome = Outcome("ok", function(*args, **kwargs))
            except (Refusal, PermissionDenied, ValueError) as refusal:
                outcome = Outcome(type(refusal).__name__, message=str(refusal))
        except BaseException:  # noqa: BLE001 - anything else is reported to the test, which fails with it
            outcome = Outcome("crashed", message=traceback.format_exc())
            if barrier is not None:
                barriers[barrier].abort()  # the others must not wait for a server that will never arrive
        finally:
            connections.close_all()
        results.put((number, outcome))
