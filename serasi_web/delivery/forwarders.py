"""What forwarders share: the delivery result, the failure that says whether to retry, and the
rule for HTTP status codes.

Contract (see ``serasi_register_forwarders``): ``deliver(event)`` returns ``None`` or a
``DeliveryResult`` on success; raises ``DeliveryFailed`` to say what went wrong and whether a
retry can help; any other exception (timeout, refused connection ...) is retried.
"""
from __future__ import annotations

from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 425, 429})


def is_retryable_status(status_code: int) -> bool:
    """Timeouts, throttling and server errors are worth retrying; other 4xx need a person."""
    return status_code in RETRYABLE_STATUS or status_code >= 500


@dataclass
class DeliveryResult:
    """A successful delivery (the receiver's status code, shown to the admin)."""

    status_code: int | None = None


class DeliveryFailed(Exception):
    """A delivery that did not go through.

    ``retry`` defaults from ``status_code`` (retry on 408, 425, 429 and 5xx, not on other 4xx);
    ``retry_after`` (seconds) delays the next attempt at least that long.
    """

    def __init__(self, message: str, status_code: int | None = None, retry: bool | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry = is_retryable_status(status_code) if retry is None and status_code else (True if retry is None else retry)
        self.retry_after = retry_after


def describe_exception(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def check_http_response(response) -> DeliveryResult:
    """Turn a ``requests`` response into a result, or raise ``DeliveryFailed``."""
    if 200 <= response.status_code < 300:
        return DeliveryResult(response.status_code)
    retry_after = None
    header = response.headers.get("Retry-After", "")
    if header.isdigit():
        retry_after = float(header)
    raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:300]}", status_code=response.status_code,
                         retry_after=retry_after)
