// OpenBLAS set-up while the program loads, before any thread can be inside OpenBLAS.
//
// 1. Single-threaded: SatSeek's engine splits work over the cores itself and calls BLAS from several threads at
//    once. Changing the count while other threads run BLAS calls is not safe (it was done when each model was
//    built, and parallel tests then saw rare heap corruption).
// 2. No AVX-512 kernels on AMD processors: the OpenBLAS of Debian 12 (0.3.21) predates AMD's AVX-512 parts (Zen 4)
//    and runs its Intel Cooper Lake kernels there. On such a machine the full test suite crashed with glibc heap
//    corruption (malloc_consolidate, "corrupted unsorted chunks", tcache errors on thread exit) in 3 of 4 runs,
//    and passed 2 of 2 runs with OPENBLAS_CORETYPE=Haswell; so on an AMD processor where OpenBLAS chose an AVX-512
//    kernel set, the Haswell (AVX2) set is chosen instead — unless the user set OPENBLAS_CORETYPE.
#include "COpenBLASSetup.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern void gotoblas_dynamic_init(void);
extern void gotoblas_dynamic_quit(void);

static int threads_at_load = 0;
static int core_replaced = 0;

static int is_amd(void) {
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    char vendor[13];
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    vendor[12] = 0;
    return strcmp(vendor, "AuthenticAMD") == 0;
}

static int is_avx512_core(const char *name) {
    static const char *cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids", "skylakex", "cooperlake",
                                  "sapphirerapids"};
    for (unsigned i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (name && strcmp(name, cores[i]) == 0) return 1;
    return 0;
}

__attribute__((constructor)) static void satseek_blas_setup(void) {
    if (getenv("OPENBLAS_CORETYPE") == NULL && is_amd() && is_avx512_core(openblas_get_corename())) {
        // OpenBLAS picks its kernel set from OPENBLAS_CORETYPE when (re)initialised; the variable is also seen by
        // child processes, which then make the same choice.
        setenv("OPENBLAS_CORETYPE", "Haswell", 0);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
        core_replaced = 1;
    }
    openblas_set_num_threads(1);
    threads_at_load = openblas_get_num_threads();
}

int satseek_blas_threads_at_load(void) { return threads_at_load; }

const char *satseek_blas_core(void) { return openblas_get_corename(); }

int satseek_blas_core_replaced(void) { return core_replaced; }
