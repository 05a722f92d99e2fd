"""The ZNS and SMS providers behind one interface (base.py): the worker (server/channels/sender.py) only knows it."""

from server.channels.providers.base import OutboundMessage
from server.channels.providers.base import Provider
from server.channels.providers.base import ProviderResult
from server.channels.providers.base import Result
from server.channels.providers.base import provider_for

__all__ = ["OutboundMessage", "Provider", "ProviderResult", "Result", "provider_for"]
