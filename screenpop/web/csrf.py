"""CSRF tokens: per-session tokens for signed-in requests, and a double-submit token bound to
the secret key for the sign-in form (there is no session yet)."""
from __future__ import annotations

import hashlib
import hmac
import secrets

LOGIN_COOKIE = "sp_login_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def login_form_token(secret_key: str, nonce: str) -> str:
    """The form's hidden value for the nonce kept in the LOGIN_COOKIE cookie."""
    return hmac.new(secret_key.encode(), b"login:" + nonce.encode(), hashlib.sha256).hexdigest()


def login_form_valid(secret_key: str, nonce: str | None, submitted: str | None) -> bool:
    if not nonce or not submitted:
        return False
    return hmac.compare_digest(login_form_token(secret_key, nonce), submitted)


def same_token(expected: str | None, submitted: str | None) -> bool:
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())
