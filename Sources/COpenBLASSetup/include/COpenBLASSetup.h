#ifndef SATSEEK_OPENBLAS_SETUP_H
#define SATSEEK_OPENBLAS_SETUP_H

/// OpenBLAS's thread count as set when the program was loaded (1: SatSeek splits work itself).
int satseek_blas_threads_at_load(void);

#endif
