"""Routing policies behind one interface, registered by name."""

from engine.policies.base import Policy
from engine.policies.batches import DecisionBatch, FeedbackBatch, FeedbackKind, RequestBatch
from engine.policies.economics import Economics
from engine.policies.registry import DEFAULT_POLICY, create, known_policies, register
from engine.policies.space import ArmSpace

__all__ = [
    "DEFAULT_POLICY",
    "ArmSpace",
    "DecisionBatch",
    "Economics",
    "FeedbackBatch",
    "FeedbackKind",
    "Policy",
    "RequestBatch",
    "create",
    "known_policies",
    "register",
]
