"""`serve()`: an HTTP endpoint answering GET /metrics for Prometheus (prometheus_client's own
server, in a daemon thread)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.registry import Collector


class _AllEngines(Collector):
    """Every engine's registry of this process, read at scrape time."""

    def collect(self) -> Iterator[Any]:
        from velostream.metrics.registry import all_engines

        merged: dict[str, Any] = {}
        keys: dict[str, set] = {}
        for m in all_engines():
            for family in m.registry.collect():
                if family.name not in merged:
                    merged[family.name] = family
                    keys[family.name] = {
                        (s.name, tuple(sorted(s.labels.items()))) for s in family.samples
                    }
                    continue
                seen = keys[family.name]  # the same family in two engines: one set of samples
                for s in family.samples:
                    k = (s.name, tuple(sorted(s.labels.items())))
                    if k not in seen:
                        seen.add(k)
                        merged[family.name].samples.append(s)
        yield from merged.values()


@dataclass
class MetricsServer:
    """A running /metrics endpoint; `close()` stops it."""

    host: str
    port: int
    _httpd: Any
    _thread: Any

    @property
    def url(self) -> str:
        """The URL Prometheus scrapes."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def serve(port: int, addr: str = "127.0.0.1", engine: Any = None) -> MetricsServer:
    """Serve /metrics on addr:port (port 0 picks a free one) until `close()`.

    With `engine` (an `Engine` or its `EngineMetrics`) it serves that engine's metrics; without,
    those of every engine in this process (a deployed pipeline's kernel runs one).
    """
    from prometheus_client import start_http_server

    if engine is None:
        registry: Any = _AllEngines()
    else:
        registry = getattr(engine, "metrics", engine).registry
    try:
        httpd, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as e:
        raise OSError(f"cannot serve metrics on {addr}:{port}: {e.strerror or e}") from None
    return MetricsServer(addr, httpd.server_port, httpd, thread)
