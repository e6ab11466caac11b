"""Configuration: config/defaults.toml, then a file named in GOVERNOR_CONFIG, then GOVERNOR_*
environment variables, into one frozen Settings. Read when the app is built, never at import.

Relative paths (the SQLite file, the policy, the instance folder, GOVERNOR_CONFIG) are taken
from one place, the Governor home: GOVERNOR_HOME, or else the project folder (the one holding
config/defaults.toml). So a command run from another folder uses the same database and secret
as the server, instead of quietly making a new instance/ where it stands."""
from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_DIR / "config" / "defaults.toml"
MIN_SECRET_BYTES = 32
# GOVERNOR_* variables that are not settings but are read (GOVERNOR_TEST_* belong to the tests).
OTHER_VARIABLES = ("GOVERNOR_CONFIG", "GOVERNOR_HOME")
log = logging.getLogger("governor.config")


class ConfigError(Exception):
    """A bad setting: the message is the one line an operator needs."""


@dataclass(frozen=True)
class Settings:
    env: str = "production"
    database_url: str = "sqlite:///instance/governor.db"
    policy: str = "config/policies/cn-minor-mode.toml"
    instance_dir: str = "instance"
    jwt_secret: str | None = None
    jwt_keys: str | None = None  # a JWKS file of public keys (RS256, ES256, EdDSA), re-read when it changes
    jwt_issuer: str = "governor"
    jwt_audience: str = "governor"
    jwt_leeway_seconds: int = 10
    jwt_max_ttl_seconds: int = 2592000
    heartbeat_interval_seconds: int = 60
    heartbeat_grace_seconds: int = 120
    scheduler: bool = True
    sweep_interval_seconds: int = 30
    scheduler_metrics_bind: str = ""  # host:port where a `governor scheduler` process serves /metrics
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    threads: int = 4
    request_timeout_seconds: int = 15
    rate_limit_sessions_per_minute: int = 120000
    rate_limit_age_per_minute: int = 12000
    rate_limit_guardian_per_minute: int = 12000
    rate_limit_admin_per_minute: int = 6000
    rate_limit_audit_per_minute: int = 6000
    log_level: str = "info"
    audit_retention_days: int = 1095
    usage_retention_days: int = 1095
    retention_interval_seconds: int = 86400
    audit_signing_key: str | None = None  # an Ed25519 private key (PEM) that the database never holds
    audit_checkpoint_dir: str | None = None  # where signed checkpoints are appended, outside the database
    audit_checkpoint_interval_seconds: int = 3600
    webhook_allow_hosts: str = ""  # section 9: hosts exempt from the address checks, which may use http
    webhook_retention_days: int = 30  # finished webhook deliveries are kept this long

    @property
    def development(self) -> bool:
        return self.env == "development"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    def rate_limits(self) -> dict[str, int]:
        """Requests a minute per client, by scope (0: no limit)."""
        return {scope: getattr(self, f"rate_limit_{scope}_per_minute")
                for scope in ("sessions", "age", "guardian", "admin", "audit")}

    def policy_path(self) -> Path:
        return resolve_path(self.policy)


def home(environ: Mapping[str, str] | None = None) -> Path:
    """The folder that relative paths are taken from: GOVERNOR_HOME, else the project folder."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("GOVERNOR_HOME") or PROJECT_DIR).absolute()


def resolve_path(name: str, base: Path | None = None) -> Path:
    """An absolute path as it is; a relative one from the Governor home."""
    path = Path(name)
    return path if path.is_absolute() else (base or home()) / path


def find_policy(name: str, base: Path | None = None) -> Path:
    """A policy file: an absolute path as it is; a relative one from the Governor home, else from
    the project folder, else among the shipped packs (`us-ca-sb243.toml` is config/policies/'s)."""
    path = resolve_path(name, base)
    if path.exists() or Path(name).is_absolute():
        return path
    for shipped in (PROJECT_DIR / name, PROJECT_DIR / "config" / "policies" / name):
        if shipped.exists():
            return shipped
    return path


def _anchored(settings: Settings, base: Path) -> Settings:
    """Settings whose paths are absolute, taken from `base` where they were relative."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    database_url = settings.database_url
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute():
        database_url = url.set(database=str(resolve_path(url.database, base))).render_as_string(
            hide_password=False)
    policy = find_policy(settings.policy, base)
    return settings.replace(database_url=database_url, policy=str(policy),
                            instance_dir=str(resolve_path(settings.instance_dir, base)))


def warn_unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A GOVERNOR_* variable that Governor does not read is most likely a typo: say so, naming
    the nearest known one (the setting keeps its default, which may be the wrong database)."""
    known = ["GOVERNOR_" + key.upper() for key in _fields()] + list(OTHER_VARIABLES)
    warnings = []
    for name in sorted(environ):
        if name.startswith("GOVERNOR_") and name not in known and not name.startswith("GOVERNOR_TEST_"):
            near = difflib.get_close_matches(name.removeprefix("GOVERNOR_"),
                                             [k.removeprefix("GOVERNOR_") for k in known], n=1, cutoff=0.6)
            hint = f"did you mean GOVERNOR_{near[0]}?" if near else "see README, Configuration, for the known ones"
            warnings.append(f"{name} is not a Governor setting and is ignored; {hint}")
    for warning in warnings:
        log.warning(warning)
    return warnings


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    base = home(environ)
    values: dict[str, object] = {}
    files = [DEFAULTS_FILE] + ([resolve_path(environ["GOVERNOR_CONFIG"], base)]
                               if environ.get("GOVERNOR_CONFIG") else [])
    for file in files:
        try:
            with open(file, "rb") as f:
                doc = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"{file}: cannot read configuration: {e}") from None
        for key, value in doc.items():
            values[key] = _typed(key, value, str(file))
    for key in _fields():
        name = "GOVERNOR_" + key.upper()
        if name in environ:
            values[key] = _typed(key, environ[name], name)
    warn_unknown_variables(environ)
    settings = Settings(**values)
    if settings.env not in ("production", "development", "test"):
        raise ConfigError(f"GOVERNOR_ENV: {settings.env!r} is not production, development or test")
    _check_database_url(settings.database_url)
    if settings.audit_retention_days < 183:
        raise ConfigError("GOVERNOR_AUDIT_RETENTION_DAYS: at least 183 (six months of records)")
    if settings.usage_retention_days < 8:  # the week's use decides; a status remembers it with the user's row
        raise ConfigError("GOVERNOR_USAGE_RETENTION_DAYS: at least 8 (a weekly limit needs the week's use)")
    return _anchored(settings, base)


def _check_database_url(url: str) -> None:
    """Only the two supported databases, so a typo is one line here and not a traceback later."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        kind = (parsed.get_backend_name(), parsed.get_driver_name())
    except ArgumentError:
        kind = None
    if kind not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        raise ConfigError("GOVERNOR_DATABASE_URL: use sqlite:///path/to/governor.db or "
                          "postgresql+psycopg://user@host/dbname")
    if kind[0] == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError("GOVERNOR_DATABASE_URL: name a SQLite file; an in-memory database is not shared "
                          "between the server's processes")


def _fields() -> dict[str, type]:
    return {f.name: f.type for f in dataclasses.fields(Settings)}


def _typed(key: str, value: object, where: str) -> object:
    kind = _fields().get(key)
    if kind is None:
        raise ConfigError(f"{where}: unknown setting {key!r}")
    if "bool" in kind:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: {key} must be 1/0 or true/false, not {value!r}")
    if "int" in kind:
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}") from None
        if number < 0:
            raise ConfigError(f"{where}: {key} must not be negative")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text")
    return value


def secret_source(settings: Settings) -> str:
    """Where the token secret comes from, for a command to say (never the secret itself)."""
    if settings.jwt_secret:
        return "the secret in GOVERNOR_JWT_SECRET"
    if settings.jwt_keys and not settings.development:
        return f"the keys in {settings.jwt_keys} (HS256 off)"
    return f"the development secret in {Path(settings.instance_dir) / 'dev-secret'}"


def jwt_secret(settings: Settings) -> str | None:
    """The HS256 secret. Development generates one once into the instance folder; production
    refuses to run without a strong one (no secret has a default), unless a JWKS file gives the
    keys: then HS256 is off (None)."""
    if settings.jwt_secret:
        if len(settings.jwt_secret.encode()) < MIN_SECRET_BYTES and not settings.development:
            raise ConfigError(f"GOVERNOR_JWT_SECRET: too weak, use at least {MIN_SECRET_BYTES} bytes "
                              "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return settings.jwt_secret
    if settings.jwt_keys and not settings.development:
        return None
    if not settings.development:
        raise ConfigError("GOVERNOR_JWT_SECRET: not set; production needs a secret of at least "
                          f"{MIN_SECRET_BYTES} bytes (or set GOVERNOR_ENV=development to generate one)")
    path = Path(settings.instance_dir) / "dev-secret"
    if not path.exists():  # written aside, then linked: a second worker never reads half a secret
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".dev-secret.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
