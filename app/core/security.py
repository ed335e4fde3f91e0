"""Password hashing (Argon2 via pwdlib) and random tokens stored only as hashes."""

import base64
import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 10

# Argon2 with the library's recommended cost (64 MiB, 3 passes, 4 lanes). Building the hasher
# hashes nothing; the first hash is computed when a password is set or checked.
_passwords = PasswordHash((Argon2Hasher(),))
_unknown_user_hash: str | None = None


def use_password_hasher(hasher: PasswordHash) -> None:
    """Hash and verify passwords with hasher from now on (the test suite's cheap Argon2)."""
    global _passwords, _unknown_user_hash
    _passwords = hasher
    _unknown_user_hash = None


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        # Verifying against a stand-in keeps a log-in for an unknown user as slow as a real one.
        _passwords.verify(password, _stand_in_hash())
        return False
    return _passwords.verify(password, password_hash)


def _stand_in_hash() -> str:
    """A hash of no one's password, made on first use rather than at import."""
    global _unknown_user_hash
    if _unknown_user_hash is None:
        _unknown_user_hash = _passwords.hash(secrets.token_urlsafe(16))
    return _unknown_user_hash


def new_token(prefix: str = "") -> str:
    """A random, URL-safe secret (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# A secret in a compressed page can be guessed byte by byte from the compressed sizes
# (BREACH) when the page also reflects what an attacker sends. Pages therefore carry the CSRF
# token masked afresh for each response: a random pad, then the token XOR the pad.


def mask_token(token: str) -> str:
    """token under a fresh random mask: a different text on every page, the same secret."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    masked = bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    return base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def unmask_token(value: str) -> str | None:
    """The token mask_token() masked, or None if value is not a masked token."""
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if not data or len(data) % 2:
            return None
        half = len(data) // 2
        return bytes(a ^ b for a, b in zip(data[:half], data[half:], strict=True)).decode()
    except (ValueError, UnicodeError):
        return None
