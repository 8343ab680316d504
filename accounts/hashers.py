"""Password hashing: Argon2id at the cost OWASP's Password Storage Cheat Sheet lists, not Django's heavier default.

Every login and every signature checks a password. Django's default (t=2, 100 MiB, p=8) took about 180 ms of CPU
and 100 MiB per check on the reference machine, most of an approval's time, and queued logins behind it under
load. OWASP's listed minimum for Argon2id, m=19 MiB (19456 KiB), t=2, p=1, takes about 18 ms and 19 MiB (README:
Security). Hashes made with other parameters still verify, and are rehashed to these at the next login or
signature (Django's `must_update`).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class OWASPArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with m=19 MiB, t=2, p=1: OWASP's listed minimum configuration."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
