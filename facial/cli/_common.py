"""What several ``facial`` commands share.

:func:`configure_threads` is the only place in the toolkit that changes torch's CPU thread count:
it is process-wide state, so library code (which also runs inside app requests, concurrently)
never touches it; the command line sets it once for its process.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def configure_threads(n: int | None) -> None:
    """Use ``n`` torch CPU threads in this process (``None`` or 0: leave torch's default)."""
    if n:
        import torch

        torch.set_num_threads(int(n))


def limit_native_threads(n: int | None) -> None:
    """Cap the BLAS / OpenMP thread pools of this process at ``n`` (threadpoolctl, installed with
    scikit-learn; without it nothing changes). Only for entry points and worker processes: the
    thread count changes summation order, hence the last bits of numpy results."""
    if not n:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(limits=int(n))


@contextmanager
def threads_while(n: int | None) -> Iterator[None]:
    """:func:`configure_threads` for the duration of a block (the previous count is restored after it)."""
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    configure_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
