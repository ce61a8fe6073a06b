"""The connection to a cluster, and its failures as one clear line each.

Every call to the cluster runs inside :func:`cluster_errors`, which turns the client's
exceptions into :class:`~searchkit.errors.ClusterError` subclasses naming the URL and
the fix (exit 2 at the CLI's boundary, never a traceback).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as ox

from ..config import ENV_OPENSEARCH_PASSWORD, ENV_OPENSEARCH_URL, ENV_OPENSEARCH_USER
from ..config import OpenSearchSettings as Settings
from ..errors import ClusterAuthError, ClusterError, ClusterUnreachableError

# The client logs each failed request as a WARNING; with no handler Python would print
# it to stderr beside our one line. A library leaves logging to the application.
logging.getLogger("opensearch").addHandler(logging.NullHandler())
logging.getLogger("opensearch").propagate = False

REQUEST_TIMEOUT = 60  # seconds for one request (a bulk batch included)


def connect(settings: Settings) -> OpenSearch:
    """A client for ``settings.url`` (no request is made yet)."""
    auth = (settings.user, settings.password or "") if settings.user else None
    with cluster_errors(settings):
        return OpenSearch(
            hosts=[settings.url], http_auth=auth, verify_certs=settings.verify,
            ca_certs=settings.ca_file, ssl_show_warn=False, timeout=REQUEST_TIMEOUT,
            max_retries=1, retry_on_timeout=False, http_compress=True)


def _reason(exc: ox.TransportError) -> str:
    info: Any = exc.info
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            root = (error.get("root_cause") or [error])[0]
            return str(root.get("reason") or error.get("reason") or error.get("type"))
        if error:
            return str(error)
    return str(exc.error)


@contextlib.contextmanager
def cluster_errors(settings: Settings) -> Iterator[None]:
    """Run cluster calls; raise a ClusterError for what the client raises."""
    url, index = settings.url, settings.index
    try:
        yield
    except ox.SSLError as exc:
        raise ClusterUnreachableError(
            url, f"TLS handshake failed ({_short(exc)})",
            "give the cluster's CA certificate with --opensearch-ca FILE, or check "
            "the URL's scheme (http:// or https://)") from None
    except ox.ConnectionError as exc:
        raise ClusterUnreachableError(
            url, f"no answer ({_short(exc)})",
            f"start the cluster, or fix --opensearch-url / {ENV_OPENSEARCH_URL}") from None
    except ox.AuthenticationException:
        who = f"user {settings.user!r}" if settings.user else "no credentials"
        raise ClusterAuthError(
            url, f"authentication refused (401, {who})",
            f"set {ENV_OPENSEARCH_USER} and {ENV_OPENSEARCH_PASSWORD} to a user of "
            "the cluster") from None
    except ox.AuthorizationException as exc:
        who = f"user {settings.user!r}" if settings.user else "anonymous access"
        raise ClusterAuthError(
            url, f"permission denied for {who} on index {index!r} (403: {_reason(exc)})",
            f"grant the user read and write on {index!r}, or use another "
            "--opensearch-index") from None
    except ox.TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else "error"
        raise ClusterError(
            url, f"index {index!r}: {status} {_reason(exc)}",
            "check the cluster's health and the index name (--opensearch-index: lower "
            "case, no spaces)") from None
    except ox.ImproperlyConfigured as exc:
        raise ClusterError(url, f"cannot connect: {exc}",
                           "check --opensearch-url and --opensearch-ca") from None


def _short(exc: Exception) -> str:
    """The heart of a connection error, not urllib3's whole repr."""
    info = getattr(exc, "info", None)
    text = str(info if isinstance(info, Exception) else exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "certificate verify failed", "No route to host", "wrong version number"):
        if marker in text:
            return marker
    return text[:160]
