"""Run the storage contract against every backend of the ``store`` fixture (see conftest.py)."""

from __future__ import annotations

from contract import StoreContract
from contract_audit import AuditStoreContract
from contract_gauges import GaugeStoreContract
from contract_groups import GroupStoreContract
from contract_integrity import IntegrityStoreContract
from contract_migration import MigrationStoreContract
from contract_outbox import OutboxStoreContract
from contract_policies import PolicyStoreContract
from contract_queries import QueryStoreContract
from contract_recount import RecountStoreContract
from contract_shadows import ShadowStoreContract
from contract_timers import TimerStoreContract
from contract_trace import TraceStoreContract


class TestStoreContract(StoreContract):
    """The whole contract, once per backend: ``memory``, ``sqlite`` (later ``postgres``)."""


class TestPolicyStoreContract(PolicyStoreContract):
    """What resilience policies need from the store, once per backend."""


class TestGroupStoreContract(GroupStoreContract):
    """Groups whose commits change chart, status or labels, once per backend."""


class TestOutboxStoreContract(OutboxStoreContract):
    """The outbox and dead letters, once per backend."""


class TestQueryStoreContract(QueryStoreContract):
    """Queries, once per backend."""


class TestIntegrityStoreContract(IntegrityStoreContract):
    """Integrity checks and corrupted rows, once per backend."""


class TestMigrationStoreContract(MigrationStoreContract):
    """A migration's commit (outcome ``migrated``), once per backend."""


class TestTimerStoreContract(TimerStoreContract):
    """Timers of the charts a process serves, once per backend."""


class TestAuditStoreContract(AuditStoreContract):
    """The transition log across instances, and prunes, once per backend."""


class TestShadowStoreContract(ShadowStoreContract):
    """The shadow log, once per backend."""


class TestTraceStoreContract(TraceStoreContract):
    """The trace context of outbox and timer rows, once per backend."""
class TestGaugeStoreContract(GaugeStoreContract):
    """Instances per state and stuck instances, once per backend."""


class TestRecountStoreContract(RecountStoreContract):
    """The kept instance counts recounted and repaired, once per backend."""
