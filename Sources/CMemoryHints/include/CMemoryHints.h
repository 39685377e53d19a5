// CPU hints Swift cannot express: a prefetch of memory that will be read soon (the HNSW beam search
// overlaps the cache misses of the next vectors to score) and the spin-wait pause (the engine's worker pool).
#ifndef SATSEEK_MEMORY_HINTS_H
#define SATSEEK_MEMORY_HINTS_H

/// Asks the CPU to bring the cache line holding `address` into all cache levels (read intent).
static inline void satseek_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Tells the CPU the caller is in a spin-wait loop (saves power, frees the core's shared resources).
static inline void satseek_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
