"""`%ask <question>` in the Python kernel, beside `%%velo`: the SQL goes into the next cell as a
`%%velo` cell (IPython's set_next_input), from the `%%velo` session's catalog and the recent
cells. Registered by `%load_ext velostream_kernel`."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from velostream_kernel.assistant.ask_magic import run_ask


def _run(coro: Any) -> Any:
    """Run a coroutine to the end from IPython's thread (whose loop may be running)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name="velo-ask")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@magics_class
class AskMagics(Magics):
    """`%ask question`: Velostream SQL from the assistant, as the next `%%velo` cell."""

    def __init__(self, shell: Any, velo: Any) -> None:
        super().__init__(shell)
        self.velo = velo  # the VeloMagics whose session holds the catalog

    @line_magic
    def ask(self, line: str) -> None:
        """Ask the assistant; its SQL becomes the next cell."""
        from velostream_kernel.control import catalog

        raw = list(self.shell.history_manager.input_hist_raw)[-9:]  # as typed, not transformed
        cells = [c for c in raw if c.strip() and not c.lstrip().startswith("%ask")]
        out: list[tuple[str, str]] = []
        payloads, err = _run(
            run_ask(
                "%ask " + line, catalog(self.velo.session), cells, lambda n, t: out.append((n, t))
            )
        )
        for name, text in out:
            (sys.stderr if name == "stderr" else sys.stdout).write(text)
        if err is not None:
            print(err, file=sys.stderr)
            return
        for p in payloads:
            self.shell.set_next_input("%%velo\n" + p["text"], replace=False)
