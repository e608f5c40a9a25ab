"""Ask a running Velostream SQL kernel (catalog, jobs, stop, validate) from the server.

The request is a `velo_request` message on the kernel's control channel; the kernel answers
with `velo_reply` (velostream_kernel/control.py). Control is served while a cell runs, so this
works during a live query. The server's kernel manager gives the connection; each request
opens its own control socket and closes it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import zmq
import zmq.asyncio

KERNEL_NAME = "velostream"
REQUEST_TYPES = ("velo_request", "velo_reply")
POLL_S = 0.01


class KernelRequestError(Exception):
    """The kernel could not be asked: `status` is the HTTP status the handler answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def velo_kernel_ids(kernel_manager: Any) -> list[str]:
    """The running kernels that are Velostream SQL kernels."""
    out = []
    for kid in list(kernel_manager.list_kernel_ids()):
        km = kernel_manager.get_kernel(kid)
        if getattr(km, "kernel_name", "") == KERNEL_NAME:
            out.append(kid)
    return out


async def kernel_request(
    kernel_manager: Any, kernel_id: str, content: dict[str, Any], timeout: float = 10.0
) -> Any:
    """The `result` of one request to a kernel; KernelRequestError when it cannot answer."""
    if kernel_id not in kernel_manager:
        raise KernelRequestError(404, f"no running kernel with id '{kernel_id}'")
    km = kernel_manager.get_kernel(kernel_id)
    if getattr(km, "kernel_name", "") != KERNEL_NAME:
        raise KernelRequestError(
            400, f"kernel '{kernel_id}' is a {km.kernel_name} kernel, not Velostream SQL"
        )
    # A control socket of our own: a kernel client would share the server's session identity
    # with every other client of this kernel, and the kernel's replies could go astray.
    sock = km.connect_control()
    try:
        msg = km.session.msg("velo_request", content)
        km.session.send(sock, msg)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelRequestError(504, f"the kernel did not answer in {timeout:.0f} s")
            try:
                frames = await asyncio.wait_for(_recv(sock), left)
            except TimeoutError:
                continue
            _, parts = km.session.feed_identities(frames)
            reply = km.session.deserialize(parts)
            if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                continue  # a late answer to an earlier request on this socket
            body = reply.get("content", {})
            if body.get("status") != "ok":
                raise KernelRequestError(400, str(body.get("message", "the kernel said no")))
            return body.get("result")
    finally:
        sock.close(linger=0)


async def _recv(sock: Any) -> list:
    """The frames of one message. The server's kernel manager hands out ZMQStreams over plain
    sockets (polled here, without blocking the server's loop); a bare manager asyncio sockets."""
    raw = getattr(sock, "socket", sock)
    if isinstance(raw, zmq.asyncio.Socket):
        return await raw.recv_multipart()
    while True:
        if raw.poll(0):
            return raw.recv_multipart()
        await asyncio.sleep(POLL_S)
