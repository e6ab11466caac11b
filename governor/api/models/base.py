"""What every answer model shares: no unknown fields, descriptions taken from the docstrings
(a class's and each field's), and the value types several resources use."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

WINDOW_PATTERN = r"^\d\d:\d\d-\d\d:\d\d$"

Band = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$", examples=["age_8_15"],
                            description="a band the active policy names: by default `under_8`, `age_8_15`, "
                                        "`age_16_17`, `adult`, and `unverified` for users whose age is not "
                                        "established (docs/policies.md)")]
Window = Annotated[str, Field(pattern=WINDOW_PATTERN, examples=["21:00-07:00"],
                              description='a local-time window "HH:MM-HH:MM" (00:00 to 24:00); it may cross '
                                          'midnight ("21:00-07:00") and then belongs to the day it starts on')]


class Out(BaseModel):
    """An answer: exactly these fields."""
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
