"""Metrics: `-- @metric` annotations and engine metrics as Prometheus metrics, /metrics serving,
and Grafana dashboards generated from the annotations.

    from velostream.metrics import serve
    server = serve(9100)                 # every engine of this process at :9100/metrics
    server = serve(0, engine=eng)        # one engine; server.port, server.url, server.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from velostream.metrics.server import MetricsServer


def serve(port: int, addr: str = "127.0.0.1", engine: Any = None) -> MetricsServer:
    """Serve /metrics on addr:port until `.close()` (see `velostream.metrics.server.serve`)."""
    from velostream.metrics.server import serve as _serve

    return _serve(port, addr, engine)


__all__ = ["serve"]
