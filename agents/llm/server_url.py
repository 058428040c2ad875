"""A model server's URL: checked when an agent is built, and shown without credentials.

Credentials never belong in ``base_url`` (``http://user:secret@host/v1`` would be kept
in the run's records); the key is read from the environment variable ``api_key_env``.
"""

from __future__ import annotations

import unicodedata
import urllib.parse
from typing import Any


def public_url(url: str) -> str:
    """``url`` without credentials (``user:password@``), fit for a record or a message."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def check_base_url(base_url: Any) -> None:
    """Refuse a ``base_url`` that is not an http(s) URL, holds a space or a control
    character, or carries credentials (they belong in ``api_key_env``); the message
    never shows a password."""
    if not isinstance(base_url, str):
        raise ValueError("base_url must be an http(s) URL such as http://host:8000/v1")
    for at, char in enumerate(base_url):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            raise ValueError(f"base_url holds a space or a control character ("
                             f"{char.encode('unicode_escape').decode('ascii')!s} at position "
                             f"{at}); write the URL without it")
    parts = urllib.parse.urlsplit(base_url)
    if "@" in parts.netloc:
        raise ValueError("base_url may not hold credentials (user:password@host): put the "
                         "API key in an environment variable and name it with api_key_env")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(f"base_url must be an http(s) URL such as http://host:8000/v1, "
                         f"not {public_url(base_url)!r}")
