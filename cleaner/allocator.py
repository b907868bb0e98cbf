"""How the command's own process takes and gives back memory (glibc only).

Each chunk makes a few temporaries of its size (the scan view, numpy masks). glibc serves
blocks of more than a few MB with mmap, and gives the free top of its heap back to the system
once it passes a threshold; both thresholds adapt only to the sizes freed so far. So each
chunk's temporaries could come from fresh pages that the kernel zeroes and faults in one by
one: with Hyperscan, 88,000 page faults (350 MB of pages) per 60 MB of input and 0.8 s of
system time per 210 MB. Fixed thresholds above a chunk's working set keep that memory in the heap for the next
chunk. Peak RSS does not change: the same memory is in use, it is only reused. A library
leaves its host's allocator alone: only the command line calls this.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest
TRIM_THRESHOLD = 64 << 20


def keep_freed_memory(libc=None) -> bool:
    """Keep freed blocks of up to 32 MiB in the heap, for reuse; whether the C library took it."""
    try:
        mallopt = (libc or ctypes.CDLL(None)).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
