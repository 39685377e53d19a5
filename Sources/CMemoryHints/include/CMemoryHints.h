// Cache hints Swift cannot express: a prefetch of memory that will be read soon.
// Used by the HNSW beam search to overlap the cache misses of the next vectors to score.
#ifndef SATSEEK_MEMORY_HINTS_H
#define SATSEEK_MEMORY_HINTS_H

/// Asks the CPU to bring the cache line holding `address` into all cache levels (read intent).
static inline void satseek_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
