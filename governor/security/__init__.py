"""Security: who may call, and how often.

- tokens.py: bearer tokens verified (every claim, the key from the key set or the HS256 secret),
  the caller's Principal, minting for the CLI;
- keys.py: an identity provider's public keys (a JWKS file re-read when it changes);
- revocations.py: revoked token ids (the use case, audited, and each process's cached set);
- limits.py: per-client rate limits by scope;
- gate.py: the one check in front of every endpoint: token, scope, rate limit.

Where it sits: below the entry points (api, console, cli), which call it before any use case,
and above the services (revocations are a use case with an audit event, through
service/audit and store/revocations). Nothing here imports a web framework; the entry points
adapt it (api/guards.py's @requires, api/hot.py, the console's sign-in). Everything about
tokens runs on the operating system's clock, never the development clock.
"""
