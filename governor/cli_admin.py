"""`governor audit ...` and `governor policy ...`: the log and the policy from a shell."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from pathlib import Path

from governor.config import ConfigError, Settings

MIN_RETENTION_DAYS = 183  # six months: records a regulator may ask for


def add_parsers(sub) -> None:
    audit = sub.add_parser("audit", help="verify, export or prune the audit log")
    audit_cmd = audit.add_subparsers(dest="audit_command", required=True)
    audit_cmd.add_parser("verify", help="check every hash chain; exit 1 when one is broken")
    export = audit_cmd.add_parser("export", help="stream events as NDJSON or CSV to stdout")
    export.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    export.add_argument("--user-id")
    export.add_argument("--action")
    export.add_argument("--since", type=_time, help="ISO 8601 time with offset")
    export.add_argument("--until", type=_time, help="ISO 8601 time with offset")
    prune = audit_cmd.add_parser("prune", help="apply retention now (events by chain prefix, usage rows)")
    prune.add_argument("--retention-days", type=int, help="default: the audit_retention_days setting")

    policy = sub.add_parser("policy", help="show, validate or activate a policy")
    policy_cmd = policy.add_subparsers(dest="policy_command", required=True)
    policy_cmd.add_parser("show", help="print the active policy as JSON")
    for name, text in (("validate", "check a policy file without activating it"),
                       ("activate", "activate a policy file as the next version")):
        p = policy_cmd.add_parser(name, help=text)
        p.add_argument("file", type=Path)


def cmd_audit(settings: Settings, args, services) -> int:
    from governor.service import audit as audit_log

    svc = services(settings)
    if args.audit_command == "verify":
        result = audit_log.verify(svc)
        print(json.dumps(result.as_json()))
        return 0 if result.ok else 1
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
    days = settings.audit_retention_days if args.retention_days is None else args.retention_days
    if days < MIN_RETENTION_DAYS:
        raise ConfigError(f"--retention-days: at least {MIN_RETENTION_DAYS} days (six months)")
    removed = audit_log.prune(svc, days, settings.usage_retention_days, client="governor-cli")
    print(f"removed {removed} audit events older than {days} days")
    return 0


def cmd_policy(settings: Settings, args, services) -> int:
    from governor.domain.policy import load_policy_file
    from governor.service import admin, policies

    if args.policy_command == "validate":
        policy = load_policy_file(args.file)
        print(f"{args.file}: valid policy {policy.name!r} ({policy.timezone}, "
              f"{len(policy.holidays)} holidays)")
        return 0
    svc = services(settings)
    if args.policy_command == "show":
        print(json.dumps(admin.policy_document(*admin.active_policy(svc)), indent=2, ensure_ascii=False))
        return 0
    policy = load_policy_file(args.file)
    with svc.db.write() as s:
        version = policies.activate(s, policy, f"cli:{args.file.name}", "governor-cli", svc.clock.now())
    print(f"activated {policy.name!r} as version {version}")
    return 0


def _time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time with an offset")
    return t
