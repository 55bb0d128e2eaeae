"""Every table of the store. Import from here so Alembic and the app see the same metadata."""

from app.models.admin_runs import AdminRun
from app.models.alerts import (
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertEndpoint,
    AlertSlackMessage,
    SlackUserCache,
)
from app.models.audit import AuditLog
from app.models.base import Base
from app.models.crm import Association, Contact, Deal, Engagement, Owner
from app.models.dashboard import DashboardRollupMark, DashboardTouchTime
from app.models.pipeline import LifecycleStage, Pipeline, PipelineStage
from app.models.portal import Portal
from app.models.posts import AlertPost
from app.models.reevaluation import SlaHandoffStats, SlaReevaluation
from app.models.silences import AlertAcknowledgement, AlertSilence
from app.models.sla import SlaEvent, SlaInstance, SlaRuleSet
from app.models.sync import SyncCheckpoint, SyncRun
from app.models.transition import Transition
from app.models.webhook import WebhookDeadLetter, WebhookEvent
from app.models.webhook_state import ErasedRecord, PropertyVersion, RecordRefresh

__all__ = [
    "AdminRun",
    "AlertAcknowledgement",
    "AlertDelivery",
    "AlertDeliveryAttempt",
    "AlertEndpoint",
    "AlertPost",
    "AlertSilence",
    "AlertSlackMessage",
    "Association",
    "AuditLog",
    "Base",
    "Contact",
    "DashboardRollupMark",
    "DashboardTouchTime",
    "Deal",
    "Engagement",
    "ErasedRecord",
    "LifecycleStage",
    "Owner",
    "Pipeline",
    "PipelineStage",
    "Portal",
    "PropertyVersion",
    "RecordRefresh",
    "SlaEvent",
    "SlaHandoffStats",
    "SlaInstance",
    "SlaReevaluation",
    "SlaRuleSet",
    "SlackUserCache",
    "SyncCheckpoint",
    "SyncRun",
    "Transition",
    "WebhookDeadLetter",
    "WebhookEvent",
]
