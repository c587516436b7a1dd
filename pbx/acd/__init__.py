"""Answer groups and ACD queues: agents, dispatch, wrap-up, callback (live part built in issue 4)."""

from pbx.acd.agents import AgentUnavailable, NotReservedFor, available_for
from pbx.acd.announce import LastAnnouncement, announcement
from pbx.acd.callback import IllegalTransition, QueueStats, RetryPolicy, scheduled_offer
from pbx.acd.dispatch import DispatchOrder, assign, assign_all, next_for_agent, order_callers, pick_agent, ring_all
from pbx.acd.ewt import AppQueueEstimator, CompletionEstimator, Estimator, PositionHoldtimeEstimator
from pbx.acd.model import (
    AcdEvent,
    AcdEventKind,
    AgentState,
    CallbackRequest,
    CallbackStatus,
    WaitingCaller,
    group_member,
    queue_member,
)

__all__ = [
    "AcdEvent",
    "AcdEventKind",
    "AgentState",
    "AgentUnavailable",
    "AppQueueEstimator",
    "CallbackRequest",
    "CallbackStatus",
    "CompletionEstimator",
    "DispatchOrder",
    "Estimator",
    "IllegalTransition",
    "LastAnnouncement",
    "NotReservedFor",
    "PositionHoldtimeEstimator",
    "QueueStats",
    "RetryPolicy",
    "WaitingCaller",
    "announcement",
    "assign",
    "assign_all",
    "available_for",
    "group_member",
    "next_for_agent",
    "order_callers",
    "pick_agent",
    "queue_member",
    "ring_all",
    "scheduled_offer",
]
