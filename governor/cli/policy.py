"""`governor policy show | validate FILE | activate FILE`.

FILE is found as the operator typed it (from the folder the command runs in), else as
GOVERNOR_POLICY would be (from GOVERNOR_HOME, then among the shipped packs), so
`governor policy validate us-ca-sb243.toml` finds the shipped pack that GOVERNOR_POLICY accepts."""
from __future__ import annotations

import json
from pathlib import Path

from governor.cli.common import command, services
from governor.config import Settings, find_policy


def add_parsers(sub) -> None:
    policy = command(sub, "policy", "show, validate or activate a policy", "Policies (docs/policies.md).")
    policy.set_defaults(run=cmd_policy)
    policy_cmd = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    command(policy_cmd, "show", "print the active policy as JSON",
            "Print the active policy version as JSON, with its version and who activated it when.")
    for name, text, more in (
            ("validate", "check a policy file without activating it",
             "Check a policy TOML file; print a one-line summary, or the first problem and exit 2."),
            ("activate", "activate a policy file as the next version",
             "Validate a policy TOML file and activate it as the next version (audited as policy.activated); "
             "running sessions follow it from their next heartbeat.")):
        p = command(policy_cmd, name, text, more)
        p.add_argument("file", type=Path, help="the policy's TOML file (or a shipped pack's name, e.g. "
                                               "us-ca-sb243.toml, found as GOVERNOR_POLICY is)")


def policy_file(given: Path) -> Path:
    if given.exists():
        return given
    found = find_policy(str(given))
    return found if found.exists() else given  # not found: the refusal names it as it was typed


def cmd_policy(settings: Settings, args) -> int:
    from governor.domain.policy import load_policy_file
    from governor.service import admin, policies

    if args.policy_command == "validate":
        policy = load_policy_file(policy_file(args.file))
        print(f"{args.file}: valid policy {policy.name!r} ({policy.timezone}, "
              f"{len(policy.holidays)} holidays)")
        return 0
    svc = services(settings)
    if args.policy_command == "show":
        print(json.dumps(admin.policy_document(*admin.active_policy(svc)), indent=2, ensure_ascii=False))
        return 0
    policy = load_policy_file(policy_file(args.file))
    with svc.db.write() as s:
        version = policies.activate(s, policy, f"cli:{args.file.name}", "governor-cli", svc.clock.now())
    print(f"activated {policy.name!r} as version {version}")
    return 0
