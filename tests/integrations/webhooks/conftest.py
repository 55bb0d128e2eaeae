from tests.integrations.webhooks.receiver import receiver

__all__ = ["receiver"]
