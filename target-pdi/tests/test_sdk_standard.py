"""singer-sdk's standard target tests for TargetPDI, against the PDI simulator over real HTTP.

The SDK's test streams (`test_*`) are not streams target-pdi writes, so they are read, validated
and dropped (IgnoredSink); what the suite checks is the target's side of the Singer protocol:
CLI output, SCHEMA/RECORD/STATE parsing, schema changes, the errors it must raise. The target
still logs in to PDI at the first record, so a simulator runs (`pdi` fixture, conftest.py).
One test of the SDK's suite is turned round on purpose: `record_missing_key_property` expects the
target to raise MissingKeyPropertiesError, which stopped the run; the house rule is that bad input
is one record's failure and the run goes on (sinks.BufferSink keeps such a record, which the plan
masks and skips; test_fuzz_records.py drops keys of every stream). The SDK's own input is run
here and must reach its end. Not in the suite (the SDK leaves it out, a TODO) and not added:
TargetMultipleStateMessages, which wants every STATE relayed as it comes; target-pdi emits STATE
only after a batch is written (test_integration.py's batch test covers that), and these streams
make no batch, so it emits one STATE, at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from make_fixtures import sandbox_config
from singer_sdk.testing import SuiteConfig, TargetTestRunner, get_target_test_class
from singer_sdk.testing.templates import TargetFileTestTemplate
from target_pdi.target import TargetPDI

Pdi = Any  # the `pdi` fixture (conftest.Pdi)


# The simulator's URL is only known once it runs, so the runner fixture below builds the
# config; this one only serves the factory (which wants a config when the class is built).
_StandardTests = get_target_test_class(TargetPDI, config={}, parse_env_config=False)


class _RecordMissingKeyPropertyGoesOn(TargetFileTestTemplate):
    """The SDK's input of records without their key property, run to its end."""

    name = "record_missing_key_property"

    def test(self) -> None:
        # The SDK's target raised MissingKeyPropertiesError here, which failed this test.
        self.runner.sync_all()


class TestTargetPDI(_StandardTests):  # type: ignore[misc,valid-type]
    """The SDK's standard target tests, each with a target logged in to the PDI simulator."""

    @pytest.fixture
    def runner(self, pdi: Pdi, tmp_path: Path) -> TargetTestRunner:
        return TargetTestRunner(
            TargetPDI, config=sandbox_config(pdi, tmp_path), parse_env_config=False
        )

    def test_target_record_missing_key_property(
        self, config: SuiteConfig, resource: Any, runner: TargetTestRunner
    ) -> None:
        """A record without its key property does not stop the run (see the module's docstring)."""
        _RecordMissingKeyPropertyGoesOn().run(config, resource, runner)
