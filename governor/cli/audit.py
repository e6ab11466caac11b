"""`governor audit ...`: verify, export, prune and checkpoint the audit log from a shell."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from pathlib import Path

from governor.cli.common import command, services
from governor.config import ConfigError, Settings

MIN_RETENTION_DAYS = 183  # six months: records a regulator may ask for


def add_parsers(sub) -> None:
    audit = command(sub, "audit", "verify, export, prune or checkpoint the audit log", "The audit log.")
    audit.set_defaults(run=cmd_audit)
    audit_cmd = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = command(audit_cmd, "verify", "check every hash chain; exit 1 when one is broken",
                     "Check every hash chain (edited, inserted, deleted or reordered events) in one snapshot; "
                     'print {"ok", "events_checked", "first_bad_event"?} and exit 1 when a chain is broken. '
                     "With --checkpoints, also prove that every chain still passes through the heads signed "
                     "outside the database (docs/audit.md).")
    verify.add_argument("--checkpoints", type=Path, metavar="DIR",
                        help="also prove every chain still passes through the heads signed in DIR")
    verify.add_argument("--public-key", type=Path, action="append", default=[],
                        help="an Ed25519 public key (PEM) the checkpoints may be signed with (repeatable; "
                             "default: the public half of GOVERNOR_AUDIT_SIGNING_KEY)")
    checkpoint = command(audit_cmd, "checkpoint", "sign every chain's head into GOVERNOR_AUDIT_CHECKPOINT_DIR",
                         "Sign every chain's head with GOVERNOR_AUDIT_SIGNING_KEY (Ed25519) and append the "
                         "signed checkpoint to a file in GOVERNOR_AUDIT_CHECKPOINT_DIR.")
    checkpoint.add_argument("--dir", type=Path, help="default: GOVERNOR_AUDIT_CHECKPOINT_DIR")
    keygen = command(audit_cmd, "keygen", "write a new Ed25519 signing key (PATH) and its public key (PATH.pub)",
                     "Write a new Ed25519 signing key for checkpoints (never overwritten) and its public key.")
    keygen.add_argument("path", type=Path)
    export = command(audit_cmd, "export", "stream events as NDJSON or CSV to stdout",
                     "Stream every matching event, oldest first, to stdout in constant memory: NDJSON (one event "
                     "a line) or CSV (a header row, then one event a row).")
    export.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    export.add_argument("--user-id")
    export.add_argument("--action")
    export.add_argument("--since", type=_time, help="ISO 8601 time with offset")
    export.add_argument("--until", type=_time, help="ISO 8601 time with offset")
    prune = command(audit_cmd, "prune", "apply retention now (events by chain prefix, usage rows)",
                    "Remove audit events older than the retention by chain prefix, keeping each chain's "
                    "checkpoint so that verification still holds, and usage rows older than theirs.")
    prune.add_argument("--retention-days", type=int, help="default: the audit_retention_days setting")


def cmd_audit(settings: Settings, args) -> int:
    from governor.service import audit as audit_log
    from governor.service.audit import checkpoints

    if args.audit_command == "keygen":
        try:
            public = checkpoints.generate_key(args.path)
        except FileExistsError:
            raise ConfigError(f"{args.path} exists; a signing key is never overwritten") from None
        print(f"wrote {args.path} (private: set GOVERNOR_AUDIT_SIGNING_KEY; keep it off the database host's "
              f"backups) and {public} (public: give it to whoever verifies)", file=sys.stderr)
        return 0
    days = None
    if args.audit_command == "prune":  # a refused argument before anything touches the database
        days = settings.audit_retention_days if args.retention_days is None else args.retention_days
        if days < MIN_RETENTION_DAYS:
            raise ConfigError(f"--retention-days: at least {MIN_RETENTION_DAYS} days (six months)")
    svc = services(settings)
    if args.audit_command == "verify":
        return _verify(settings, args, svc)
    if args.audit_command == "checkpoint":
        directory = args.dir or settings.audit_checkpoint_dir
        if not settings.audit_signing_key or not directory:
            raise ConfigError("set GOVERNOR_AUDIT_SIGNING_KEY and GOVERNOR_AUDIT_CHECKPOINT_DIR (or --dir)")
        path, chains = audit_log.checkpoint(svc, settings.audit_signing_key, str(directory))
        print(f"signed the heads of {chains} chains into {path}")
        return 0
    if args.audit_command == "export":
        f = audit_log.EventFilter(user_id=args.user_id, action=args.action, since=args.since, until=args.until)
        writer = csv.writer(sys.stdout) if args.format == "csv" else None
        if writer:
            writer.writerow(audit_log.CSV_COLUMNS)
        for event in audit_log.stream(svc, f):
            if writer:
                writer.writerow(audit_log.csv_row(event))
            else:
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        return 0
    removed = audit_log.prune(svc, days, settings.usage_retention_days, client="governor-cli")
    print(f"removed {removed} audit events older than {days} days")
    return 0


def _verify(settings: Settings, args, svc) -> int:
    from governor.service import audit as audit_log
    from governor.service.audit import checkpoints

    result = audit_log.verify(svc)
    out = result.as_json()
    ok = result.ok
    if args.checkpoints is not None:
        keys = [checkpoints.load_public_key(str(p)) for p in args.public_key]
        if not keys and settings.audit_signing_key:
            keys = [checkpoints.load_public_key(settings.audit_signing_key)]
        if not keys:
            raise ConfigError("--public-key: name the checkpoints' public key (or set GOVERNOR_AUDIT_SIGNING_KEY)")
        claims, problems = audit_log.verify_checkpoints(svc, str(args.checkpoints), keys)
        out["checkpoints"] = {"ok": not problems, "files": claims.files, "checkpoints": claims.checkpoints,
                              "chains": len(claims.heads), "problems": problems[:100]}
        ok = ok and not problems
        out["ok"] = ok
    print(json.dumps(out))
    return 0 if ok else 1


def _time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time with an offset")
    return t
