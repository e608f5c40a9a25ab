"""The studio's Jupyter server extension: REST handlers under /velostream/api/ (assistant,
validation, catalog, jobs, and the `*_handlers.py` modules of other features here: pipelines'
deploy API, dashboards), and the prebuilt JupyterLab extension (chat sidebar, jobs panel,
deploy dialog) shipped with it.

Enabled by `etc/jupyter/jupyter_server_config.d/velostream_kernel.json`, which the wheel
installs; `jupyter server extension list` shows `velostream_kernel.server`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join

from velostream_kernel.server.handlers import handlers, make_assistant
from velostream_kernel.server.kernel_client import REQUEST_TYPES

API_PREFIX = "velostream/api"
LABEXTENSION_NAME = "velostream-studio"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """This module is the server extension."""
    return [{"module": "velostream_kernel.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built lab extension lives (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": LABEXTENSION_NAME}]


def extra_handler_modules() -> list[str]:
    """Other features' handler modules in this package: `*_handlers.py` (pipelines, dashboards),
    each exposing `handlers() -> [(route, handler class)]`."""
    here = Path(__file__).parent
    return sorted(f"{__name__}.{p.stem}" for p in here.glob("*_handlers.py"))


def all_routes(base_url: str) -> list[tuple[str, type]]:
    """Full URL patterns: ours and the other modules'. A route that starts with `/` is relative
    to the base URL, any other to {base_url}velostream/api/."""
    pairs = list(handlers())
    for name in extra_handler_modules():
        pairs += list(importlib.import_module(name).handlers())
    out = []
    for route, handler in pairs:
        if route.startswith("/"):
            out.append((url_path_join(base_url, route), handler))
        else:
            out.append((url_path_join(base_url, API_PREFIX, route), handler))
    return out


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the handlers; keep the studio's control messages out of activity tracking."""
    web_app = serverapp.web_app
    base = web_app.settings["base_url"]
    web_app.settings["velostream_assistant"] = make_assistant(serverapp.config)
    web_app.add_handlers(".*$", all_routes(base))
    # The kernel answers velo_request on the control channel with busy/idle status messages;
    # JupyterLab must not show those as the notebook's kernel going idle during a live query.
    km = serverapp.kernel_manager
    untracked = list(getattr(km, "untracked_message_types", []))
    for t in REQUEST_TYPES:
        if t not in untracked:
            untracked.append(t)
    km.untracked_message_types = untracked
    # JupyterLab copies the list into the page config when it loads, maybe before we do.
    web_app.settings.setdefault("page_config_data", {})["untracked_message_types"] = untracked
    serverapp.log.info("velostream: studio API at %s", url_path_join(base, API_PREFIX))


# jupyter_server < 2 looked for the unprefixed name
load_jupyter_server_extension = _load_jupyter_server_extension
