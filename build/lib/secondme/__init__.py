"""secondme: talk to a Second Me through its Chat Completion API.

``SecondMeClient`` (sync) and ``AsyncSecondMeClient`` stream replies; every failure is a
``SecondMeError`` whose message can be shown to a person. ``python -m secondme serve`` runs a
local Second Me-compatible instance; ``python -m secondme chat`` is a terminal chat.
"""

__version__ = "0.3.0"

from .async_client import AsyncChatStream, AsyncSecondMeClient
from .client import ChatStream, SecondMeClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InstanceNotFoundError,
    InstanceUnavailableError,
    InvalidRequestError,
    RateLimitError,
    SecondMeError,
    StreamError,
)
from .protocol import DEFAULT_BASE_URL, Instance

__all__ = [
    "__version__",
    "SecondMeClient",
    "AsyncSecondMeClient",
    "ChatStream",
    "AsyncChatStream",
    "Instance",
    "DEFAULT_BASE_URL",
    "SecondMeError",
    "InvalidRequestError",
    "APIStatusError",
    "InstanceNotFoundError",
    "InstanceUnavailableError",
    "RateLimitError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamError",
]
