"""Keep freed memory in the process instead of handing it back to the operating system at every step.

A training step allocates and frees the same large tensors over and over (the recurrent layers'
gate buffers are tens of MB). glibc's malloc serves blocks above its mmap threshold (128 KiB to
start) with fresh ``mmap`` calls and returns them with ``munmap``, and trims the top of its heap
when it is free, so every step page-faults its memory in again and the kernel zeroes it: on a
Diagonal BiLSTM step that was about a fifth of the CPU time, spent in the kernel. PyTorch's CPU
tuning guide suggests another allocator (jemalloc, tcmalloc) for this; these two settings of
glibc's own malloc get the same effect with nothing to install.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: ``mallopt`` parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
#: Free memory at the top of the heap kept before any is returned to the system.
TRIM_THRESHOLD = 1 << 30
#: What the heap grows by beyond each request (address space; pages count once touched). Without
#: it, a freed block at the top of the heap was still handed back and faulted in again (measured).
TOP_PAD = 1 << 28


def keep_freed_memory() -> bool:
    """Serve every allocation from malloc's heap (no ``mmap``), grow it by 256 MiB at a time, and keep
    up to 1 GiB of freed memory for reuse. Returns whether the settings took effect: only on Linux with glibc; elsewhere this
    does nothing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all([mallopt(parameter, value) == 1 for parameter, value in settings])
