"""Drive a real kernel through jupyter_client: run a cell, collect its messages."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

TIMEOUT = 60.0  # generous: a loaded 2-core machine


@dataclass
class Cell:
    """What one execute_request produced."""

    msg_id: str
    reply: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)  # iopub, in order

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        """The iopub messages of these types."""
        return [m for m in self.messages if m["msg_type"] in types]

    def displays(self) -> list[dict[str, Any]]:
        """display_data and update_display_data contents."""
        return [m["content"] for m in self.of_type("display_data", "update_display_data")]

    def last_data(self, display_id: str) -> dict[str, Any]:
        """The latest MIME bundle sent for a display id."""
        found = [
            c["data"] for c in self.displays() if c["transient"].get("display_id") == display_id
        ]
        assert found, f"no display {display_id}"
        return found[-1]

    def display_ids(self, suffix: str) -> list[str]:
        """The distinct display ids ending with `suffix`, in order of first use."""
        ids = [c["transient"].get("display_id") or "" for c in self.displays()]
        return list(dict.fromkeys(i for i in ids if i.endswith(suffix)))


def start(kernel_name: str = "velostream", **kw: Any) -> tuple[KernelManager, BlockingKernelClient]:
    """Start a kernel from its installed kernelspec and wait until it answers."""
    return start_new_kernel(kernel_name=kernel_name, startup_timeout=TIMEOUT, **kw)


def send(kc: BlockingKernelClient, code: str) -> str:
    """Send an execute_request; returns its msg_id."""
    return kc.execute(code, store_history=False)


def collect(
    kc: BlockingKernelClient, msg_id: str, timeout: float = TIMEOUT, on_message=None
) -> Cell:
    """Read iopub until the cell's idle status, then its execute_reply."""
    cell = Cell(msg_id)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"cell did not finish in {timeout}s: {cell.messages[-3:]}"
        try:
            msg = kc.get_iopub_msg(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        cell.messages.append(msg)
        if on_message is not None:
            on_message(msg)
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            cell.reply = reply["content"]
            return cell


def run(kc: BlockingKernelClient, code: str, timeout: float = TIMEOUT) -> Cell:
    """Run a cell to its end."""
    return collect(kc, send(kc, code), timeout)


def table_rows(html: str) -> int:
    """Rows in the body of a result table's HTML."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>")
