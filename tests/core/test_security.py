"""Passwords: strong Argon2 in the application, a cheap Argon2 in this test suite only."""

import subprocess
import sys

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core import security
from app.core.config import PROJECT_ROOT

STRONG_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"
CHEAP_PREFIX = "$argon2id$v=19$m=8,t=1,p=1$"

# A fresh interpreter: what the application does without the test suite's hook.
APPLICATION = """
from app.core import security
from app.main import create_app

create_app()
assert security._unknown_user_hash is None, "a hash was computed at import"
print(security.hash_password("a long enough password"))
assert not security.verify_password("a long enough password", None)
assert security._unknown_user_hash.startswith("$argon2id$")
"""


def test_the_application_hashes_with_the_strong_cost_and_nothing_at_import():
    run = subprocess.run(
        [sys.executable, "-c", APPLICATION],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(STRONG_PREFIX)


def test_the_test_suite_hashes_cheaply_and_still_reads_strong_hashes():
    cheap = security.hash_password("a long enough password")
    assert cheap.startswith(CHEAP_PREFIX)
    assert security.verify_password("a long enough password", cheap)
    assert not security.verify_password("another password", cheap)
    strong = PasswordHash((Argon2Hasher(),)).hash("a long enough password")
    assert strong.startswith(STRONG_PREFIX)
    assert security.verify_password("a long enough password", strong)


def test_an_unknown_user_is_checked_against_a_stand_in_hash():
    assert not security.verify_password("a long enough password", None)
    assert not security.verify_password("a long enough password", "")
    stand_in = security._stand_in_hash()
    assert stand_in.startswith(CHEAP_PREFIX)
    assert not security.verify_password("not-a-real-password", stand_in)
