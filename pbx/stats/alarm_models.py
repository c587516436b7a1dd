"""The SQL table of wallboard alarm thresholds per queue (F-16), and whether each is raised now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, true
from sqlalchemy.orm import Mapped, mapped_column

from pbx.db.models import NO_ID_REUSE, Base


class QueueAlarmRow(Base):
    """A threshold on one live figure of one queue. Keyed by the queue's key, not its row: a configuration
    save replaces the queue rows, and the thresholds must survive that. `raised_at` is set while the alarm
    is raised; the watcher sets and clears it with a compare-and-set, so several API processes raise an
    alarm once."""

    __tablename__ = "queue_alarms"
    __table_args__ = (Index(None, "tenant_id", "queue"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    queue: Mapped[str]
    name: Mapped[str]
    metric: Mapped[str]
    threshold: Mapped[float]
    clear_at: Mapped[float | None]  # None: clears when back on the right side of `threshold`
    clear_after_s: Mapped[int]
    notify_event: Mapped[bool] = mapped_column(server_default=true())
    emails: Mapped[list[Any]] = mapped_column(JSON)
    webhooks: Mapped[list[Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime]
    raised_at: Mapped[datetime | None]
    raised_value: Mapped[float | None]
