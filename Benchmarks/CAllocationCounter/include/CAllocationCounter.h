#ifndef TIELINE_ALLOCATION_COUNTER_H
#define TIELINE_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign) made anywhere in the benchmark process since the start. The
/// benchmark executable interposes the allocator to count them; it is not
/// linked into the gateway.
uint64_t tieline_allocation_count(void);

/// Bytes of heap in use now (glibc mallinfo2: small blocks plus mmapped ones).
uint64_t tieline_heap_in_use(void);

#endif
