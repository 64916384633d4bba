"""The model caller's own parts; whole calls through instructor are in test_pipeline.py."""

from __future__ import annotations

import instructor.v2.core.patch as instructor_patch
import instructor.v2.validation.async_validators as instructor_validators
import pytest
from instructor.v2.validation.async_validators import async_field_validator
from pydantic import BaseModel

from extractor.model.caller import RESPONSE_MODEL, _ClassesChecked


class _WithAsyncValidator(BaseModel):
    name: str

    @async_field_validator("name")
    async def check_name(self, value: str) -> str:
        return value


def test_instructor_checks_each_response_model_class_once():
    once = instructor_validators.reject_async_validators
    assert isinstance(once, _ClassesChecked)
    assert instructor_patch.reject_async_validators is once  # where the patched create looks

    walks: list[object] = []
    counted = _ClassesChecked(lambda model: walks.append(model) or once.check(model))
    for _ in range(3):
        counted(RESPONSE_MODEL)
    assert walks == [RESPONSE_MODEL]


def test_a_model_with_async_validators_is_still_refused_every_time():
    once = instructor_validators.reject_async_validators
    for _ in range(2):
        with pytest.raises(ValueError, match="async validators"):
            once(_WithAsyncValidator)
    assert _WithAsyncValidator not in once.passed
