"""Password hashing (Argon2 via pwdlib) and random tokens stored only as hashes."""

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_passwords = PasswordHash((Argon2Hasher(),))
# Verifying against this keeps the time of a log-in for an unknown user like a real one.
_DUMMY_HASH = _passwords.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    return _passwords.verify(password, password_hash)


def new_token(prefix: str = "") -> str:
    """A random, URL-safe secret (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
