"""The policies in docs/policies.md are valid policies, and each rule field is documented."""
from __future__ import annotations

import re
import tomllib

from governor.config import PROJECT_DIR
from governor.domain.policy import BandRules, parse_policy

DOC = (PROJECT_DIR / "docs" / "policies.md").read_text()


def test_every_whole_policy_in_the_docs_is_valid():
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", DOC, re.S) if re.search(r"^name = ", b, re.M)]
    assert len(blocks) >= 2
    for block in blocks:
        policy = parse_policy(tomllib.loads(block))
        assert policy.name and policy.timezone


def test_every_band_rule_is_documented():
    fields = {f for f in BandRules.__dataclass_fields__ if f != "daily_limit"} | {"daily_limit_minutes"}
    missing = [f for f in fields if f"| `{f}`" not in DOC and f"`{f}` +" not in DOC and f"+ `{f}`" not in DOC]
    assert missing == []
