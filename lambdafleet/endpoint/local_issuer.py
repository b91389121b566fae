"""The local JWT issuer: an RSA key kept in this machine's cache, which `build.py token` signs with and the local
endpoint verifies with.

Its issuer URL (lambdafleet.build.api_config.LOCAL_ISSUER) ends in `.invalid`, a name that never resolves: API
Gateway could never fetch its JWKS, so a token minted here is never accepted by AWS.
"""

import json
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from lambdafleet.build.api_config import LOCAL_ISSUER

KEY_FILE = Path("local-issuer") / "private-jwk.json"
DEFAULT_LIFETIME_S = 3600


def _key_path(cache_dir: Path) -> Path:
    return cache_dir / KEY_FILE


def private_key(cache_dir: Path) -> RSAKey:
    """The issuer's key, created (readable by this user only) the first time anyone asks."""
    path = _key_path(cache_dir)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048, private=True, parameters={"kid": f"local-{uuid.uuid4().hex[:8]}"})
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(descriptor, "w") as sink:
                json.dump(key.as_dict(private=True), sink)
    return RSAKey.import_key(json.loads(path.read_text()))


def key_set(cache_dir: Path) -> KeySet:
    """The issuer's JWKS (public key only)."""
    return KeySet.import_key_set({"keys": [private_key(cache_dir).as_dict(private=False)]})


def mint(
    cache_dir: Path,
    *,
    scopes: Iterable[str] = (),
    audience: str = "",
    subject: str = "local-user",
    lifetime_s: int = DEFAULT_LIFETIME_S,
    claims: dict[str, Any] | None = None,
) -> str:
    """A signed access token from the local issuer: `scope` space-separated as OAuth 2 has it, `aud` and
    `client_id` both set to `audience` (API Gateway accepts either), valid for `lifetime_s` seconds."""
    key = private_key(cache_dir)
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
        **({"aud": audience, "client_id": audience} if audience else {}),
        **({"scope": " ".join(scopes)} if scopes else {}),
        **(claims or {}),
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, body, key)
