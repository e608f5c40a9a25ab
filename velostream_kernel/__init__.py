"""The Jupyter layer of Velostream Studio: the "Velostream SQL" kernel and `%%velo`.

`%load_ext velostream_kernel` in an IPython kernel adds the `%%velo` / `%velo` magics.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(ip: Any) -> None:
    """`%load_ext velostream_kernel`: register `%%velo`, `%velo` and `%ask`."""
    from velostream_kernel.assistant.ipython_magic import AskMagics
    from velostream_kernel.magic import VeloMagics

    velo = VeloMagics(ip)
    ip.register_magics(velo)
    ip.register_magics(AskMagics(ip, velo))
