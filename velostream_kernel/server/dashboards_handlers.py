"""GET /velostream/api/dashboards?path=FILE: the Grafana dashboard of a .sql file or notebook
under the server's root folder (what `velo dashboard FILE` prints)."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from tornado import web

from velostream.errors import SqlError

ROUTE = "/velostream/api/dashboards"


class DashboardHandler(APIHandler):
    """Answers the dashboard JSON model; 400 with a located message for a bad annotation."""

    @web.authenticated
    def get(self) -> None:
        """The dashboard of `?path=` (relative to the server root; `title` is optional)."""
        from velostream.metrics.dashboard import dashboard_for

        rel = self.get_query_argument("path", "")
        if not rel:
            raise web.HTTPError(400, "missing ?path= (a .sql file or notebook)")
        root = Path(self.settings.get("server_root_dir") or self.contents_manager.root_dir)
        root = root.expanduser().resolve()
        target = (root / rel.lstrip("/")).resolve()
        if root != target and root not in target.parents:
            raise web.HTTPError(403, f"{rel}: outside the server's root folder")
        if not target.is_file():
            raise web.HTTPError(404, f"{rel}: no such file")
        try:
            model = dashboard_for(target, self.get_query_argument("title", None))
        except SqlError as e:
            self.set_status(400)
            self.finish(json.dumps({"message": str(e), "error": e.to_dict()}))
            return
        self.finish(json.dumps(model))


def handlers() -> list[tuple[str, type]]:
    """(route, handler class) pairs; the server extension prefixes the base URL."""
    return [(ROUTE, DashboardHandler)]
