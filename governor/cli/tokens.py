"""`governor token` and `governor keys generate`: tokens and signing keys for development.

A private key written by `keys generate` carries its `kid` on a line before the PEM block
(explanatory text, which PEM readers skip: RFC 7468 section 2), so `token --key k1.pem` needs no
`--kid`."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from governor.cli.common import command, say
from governor.config import ConfigError, Settings, jwt_secret, secret_source

# As governor.security.tokens.SCOPES (test_cli_papercuts checks): that module is imported only when
# a token is minted, as it brings prometheus_client, which `governor serve` must import after it
# has set PROMETHEUS_MULTIPROC_DIR.
SCOPE_NAMES = ("sessions", "age", "guardian", "admin", "audit")

_KID_LINE = re.compile(r"^kid: (.{1,128})$")
_GUARDIAN_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")  # as the API's user and guardian ids (api/schemas.USER_ID)


def add_parsers(sub) -> None:
    token = command(sub, "token", "mint a token; prints the token alone",
                    "Mint a signed token (HS256 with the configured secret) and print it alone on stdout, so that "
                    "TOKEN=$(governor token --sub chat-web --scope sessions) works.")
    token.add_argument("--sub", required=True, help="the client's name (the token's subject)")
    token.add_argument("--scope", required=True, help=f"space-separated scopes: {', '.join(SCOPE_NAMES)}")
    token.add_argument("--ttl", default="3600", help="lifetime in seconds (default 3600)")
    token.add_argument("--guardian-id", help="with --scope guardian: the one guardian the token acts for (a "
                                             "guardian_id claim; without it, a guardian token acts for any guardian)")
    token.add_argument("--key", type=Path, help="sign with this private key (PEM) instead of the HS256 secret")
    token.add_argument("--kid", help="the key's id in the JWKS (with --key; default: the id that "
                                     "`governor keys generate` wrote into the key file)")
    token.set_defaults(run=cmd_token)
    keys = command(sub, "keys", "signing keys for development", "Signing keys for development.")
    keys_cmd = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = command(keys_cmd, "generate", "write a private key and add its public key to a JWKS file",
                       "Write a private key (owner-only, never overwritten, its kid on a line before the PEM "
                       "block) and add its public key to a JWKS file; name that file in GOVERNOR_JWT_KEYS and "
                       "sign tokens with `governor token --key PEM`.")
    generate.add_argument("--kid", required=True, help="the key's id")
    generate.add_argument("--alg", choices=["EdDSA", "ES256", "RS256"], default="EdDSA")
    generate.add_argument("--private-key", type=Path, help="where the private key goes (default <kid>.pem)")
    generate.add_argument("--jwks", type=Path, default=Path("jwks.json"),
                          help="the JWKS file to write or add to (default jwks.json); name it in GOVERNOR_JWT_KEYS")
    generate.set_defaults(run=cmd_keys)


def cmd_token(settings: Settings, args) -> int:
    from governor.clock import SystemClock
    from governor.security.tokens import SCOPES, Authenticator

    scopes = args.scope.split()
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise ConfigError(f"--scope: use one or more of {', '.join(SCOPES)} (got {args.scope!r})")
    try:  # checked here, not by argparse, whose error would add a usage line
        ttl = int(args.ttl)
    except ValueError:
        ttl = 0
    if not 0 < ttl <= settings.jwt_max_ttl_seconds:
        raise ConfigError(f"--ttl: must be 1..{settings.jwt_max_ttl_seconds} seconds (got {args.ttl[:20]!r})")
    gid = args.guardian_id
    if gid is not None and "guardian" not in scopes:
        raise ConfigError("--guardian-id: goes with --scope guardian")
    if gid is not None and not _GUARDIAN_ID.fullmatch(gid):
        raise ConfigError(f"--guardian-id: 1-128 characters of A-Z a-z 0-9 . _ : @ - (got {gid[:40]!r})")
    if args.key is None:
        if args.kid:
            raise ConfigError("--kid: goes with --key")
        secret = jwt_secret(settings)
        if secret is None:
            raise ConfigError("GOVERNOR_JWT_SECRET: not set, so HS256 is off; sign with --key")
        say(secret_source(settings))
        auth = Authenticator(secret, settings.jwt_issuer, settings.jwt_audience, 0)
        print(auth.mint(args.sub, scopes, ttl, SystemClock().now(), guardian_id=gid))
        return 0
    key, algorithm, kid = _private_key(args.key, args.kid)
    auth = Authenticator(None, settings.jwt_issuer, settings.jwt_audience, 0)
    print(auth.mint(args.sub, scopes, ttl, SystemClock().now(), key=key, kid=kid, algorithm=algorithm,
                    guardian_id=gid))
    return 0


def _private_key(path: Path, kid: str | None):
    """The key, its algorithm and its kid: --kid, else the one the file carries (the same one
    when both are there, or the token would name a key that does not verify it)."""
    from cryptography.hazmat.primitives import serialization

    from governor.security.keys import algorithm_of

    try:
        data = path.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        algorithm = algorithm_of(key)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"--key: {path}: {e}") from None
    carried = kid_of(data)
    if kid is None and carried is None:
        raise ConfigError(f"--key: {path} does not say its kid; add --kid, the key's id in the JWKS")
    if kid is not None and carried is not None and kid != carried:
        raise ConfigError(f"--kid: {path} is the key {carried!r}, not {kid!r}")
    return key, algorithm, kid or carried


def kid_of(pem: bytes) -> str | None:
    """The `kid: ...` line before a PEM block, when there is one."""
    head = pem.split(b"-----BEGIN", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines():
        match = _KID_LINE.match(line.rstrip("\r"))
        if match:
            return match.group(1)
    return None


def cmd_keys(settings: Settings, args) -> int:
    """Write a private key (owner-only, never overwritten) and add its public JWK to the JWKS file
    (written aside and renamed, so a server reading it never sees half a file)."""
    from cryptography.hazmat.primitives import serialization

    from governor.security.keys import generate, parse_jwks

    doc = {"keys": []}
    if args.jwks.exists():
        text = args.jwks.read_text()
        try:
            known = parse_jwks(text)
        except ValueError as e:
            raise ConfigError(f"--jwks: {args.jwks}: {e}") from None
        if args.kid in known:
            raise ConfigError(f"--kid: {args.kid!r} is already in {args.jwks}")
        doc = json.loads(text)
    private_path = args.private_key or Path(f"{args.kid}.pem")
    key, jwk = generate(args.alg)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"--private-key: {private_path} exists; it is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(f"kid: {args.kid}\n".encode() + pem)
    doc["keys"].append({"kid": args.kid, **jwk})
    tmp = args.jwks.with_name(f".{args.jwks.name}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, args.jwks)
    print(f"wrote {private_path} (private, keep it secret) and {args.kid!r} ({args.alg}) in {args.jwks}",
          file=sys.stderr)
    return 0
