// Integer GEMM of SatSeek's int8 inference (see include/CQuantizedKernels.h).
//
// Every kernel computes a tile of up to TILE_ROWS rows × 32 output columns of exact int32 sums. The AVX-512 kernel
// requantises them in its registers; the others store them in a small buffer that a shared routine writes out as
// int32 or requantises. The integer sums are exact and every requantiser performs the same float operations
// (unfused), so every kernel gives the same bits. The SIMD kernels are compiled with per-function target
// attributes and only called after the CPU reports the features, so the library runs on any x86-64 CPU.
#include "CQuantizedKernels.h"
#include "Requantize.h"

#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { TILE_ROWS = 6, TILE_COLUMNS = 32 };

static int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

size_t satseek_qgemm_packed_size(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    return (size_t)round_up(n, 16) * (size_t)round_up(k, 4);
}

void satseek_qgemm_pack(const int8_t *weights, int n, int k, int8_t *packed) {
    const int groups = round_up(k, 4) / 4;
    const int blocks = round_up(n, 16) / 16;
    for (int block = 0; block < blocks; block++) {
        for (int group = 0; group < groups; group++) {
            int8_t *destination = packed + ((size_t)block * groups + group) * 64;
            for (int o = 0; o < 16; o++) {
                for (int j = 0; j < 4; j++) {
                    const int row = block * 16 + o, column = group * 4 + j;
                    destination[o * 4 + j] = (row < n && column < k) ? weights[(size_t)row * k + column] : 0;
                }
            }
        }
    }
}

int satseek_qgemm_supports(int level) {
    switch (level) {
    case SATSEEK_QGEMM_PORTABLE: return 1;
#if defined(__x86_64__)
    case SATSEEK_QGEMM_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case SATSEEK_QGEMM_AVX_VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case SATSEEK_QGEMM_AVX512_VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

int satseek_qgemm_best_level(void) {
    for (int level = SATSEEK_QGEMM_AVX512_VNNI; level > SATSEEK_QGEMM_PORTABLE; level--) {
        if (satseek_qgemm_supports(level)) return level;
    }
    return SATSEEK_QGEMM_PORTABLE;
}

/// Where a tile's sums go: int32 rows, or requantised bytes (with a residual added when `residual` is set).
typedef struct {
    int32_t *c;
    int ldc;
    uint8_t *out;
    int ldo;
    const satseek_requantization *requantization;
    const uint8_t *residual;
    int ldr;
    int32_t residual_zero_point;
    float residual_scale;
} tile_sink;

/// One sum requantised (the definition every vector path matches: IEEE conversion and products, the two products
/// added unfused, round half to even); `residual` < 0: none.
static inline uint8_t requantize(const tile_sink *sink, int32_t sum, int j, int residual) {
    const satseek_requantization *q = sink->requantization;
    if (residual < 0) return satseek_requantize_sum(q, sum, j);
    const float skip = (float)(residual - sink->residual_zero_point) * sink->residual_scale;
    return satseek_requantize_scaled(q, (float)(sum + q->bias[j]) * q->scale[j] + skip);
}

/// The scalar row: `sums` of columns `column…` to `destination`, the residual row `skip` (or NULL).
static void requantize_row_scalar(
    const tile_sink *sink, const int32_t *sums, int column, int columns, const uint8_t *skip, uint8_t *destination) {
    for (int j = 0; j < columns; j++) destination[j] = requantize(sink, sums[j], column + j, skip ? skip[j] : -1);
}

#if defined(__x86_64__)
/// `requantize` on 8 columns at a time (`cvtps2dq` rounds half to even in the default rounding mode, as nearbyintf).
static __attribute__((target("avx2"))) void requantize_row_avx2(
    const tile_sink *sink, const int32_t *sums, int column, int columns, const uint8_t *skip, uint8_t *destination) {
    const satseek_requantization *q = sink->requantization;
    const __m256i zero_point = _mm256_set1_epi32(q->zero_point);
    const __m256i minimum = _mm256_set1_epi32(q->minimum), maximum = _mm256_set1_epi32(q->maximum);
    const __m256i skip_zero = _mm256_set1_epi32(sink->residual_zero_point);
    const __m256 skip_scale = _mm256_set1_ps(sink->residual_scale);
    int j = 0;
    for (; j + 8 <= columns; j += 8) {
        const __m256i sum = _mm256_add_epi32(
            _mm256_loadu_si256((const __m256i *)(sums + j)), _mm256_loadu_si256((const __m256i *)(q->bias + column + j)));
        __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(q->scale + column + j));
        if (skip) {
            const __m256i r = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(skip + j))), skip_zero);
            scaled = _mm256_add_ps(scaled, _mm256_mul_ps(_mm256_cvtepi32_ps(r), skip_scale));
        }
        __m256i value = _mm256_add_epi32(_mm256_cvtps_epi32(scaled), zero_point);
        value = _mm256_min_epi32(_mm256_max_epi32(value, minimum), maximum);
        const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(value), _mm256_extracti128_si256(value, 1));
        _mm_storel_epi64((__m128i *)(destination + j), _mm_packus_epi16(words, words));
    }
    requantize_row_scalar(sink, sums + j, column + j, columns - j, skip ? skip + j : NULL, destination + j);
}

#endif

/// Stores `rows` × `columns` sums of `tile` (rows of TILE_COLUMNS) at row `row`, column `column` with the
/// requantiser of `level` (the CPU runs it; the AVX-512 kernel requantises in its own registers instead).
static void store_tile(
    const tile_sink *sink, const int32_t *tile, int row, int column, int rows, int columns, int level) {
    if (sink->c) {
        for (int r = 0; r < rows; r++) {
            memcpy(sink->c + (size_t)(row + r) * sink->ldc + column, tile + r * TILE_COLUMNS,
                   sizeof(int32_t) * (size_t)columns);
        }
        return;
    }
    for (int r = 0; r < rows; r++) {
        uint8_t *destination = sink->out + (size_t)(row + r) * sink->ldo + column;
        const uint8_t *skip = sink->residual ? sink->residual + (size_t)(row + r) * sink->ldr + column : NULL;
        const int32_t *sums = tile + r * TILE_COLUMNS;
#if defined(__x86_64__)
        if (level >= SATSEEK_QGEMM_AVX2) {
            requantize_row_avx2(sink, sums, column, columns, skip, destination);
            continue;
        }
#endif
        requantize_row_scalar(sink, sums, column, columns, skip, destination);
    }
}

/// The portable kernel: one tile of sums by plain loops (also the reference the tests compare against).
static void tile_portable(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int rows, int blocks, int32_t *tile) {
    for (int r = 0; r < rows; r++) {
        for (int b = 0; b < blocks; b++) {
            const int8_t *weights = packed + (size_t)b * groups * 64;
            for (int o = 0; o < 16; o++) {
                int32_t sum = 0;
                for (int g = 0; g < groups; g++) {
                    for (int j = 0; j < 4; j++) {
                        sum += (int32_t)a[(size_t)r * lda + g * 4 + j] * (int32_t)weights[g * 64 + o * 4 + j];
                    }
                }
                tile[r * TILE_COLUMNS + b * 16 + o] = sum;
            }
        }
    }
}

#if defined(__x86_64__)

static inline int32_t load_group(const uint8_t *p) {
    int32_t value;
    memcpy(&value, p, 4);
    return value;
}

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/// AVX-512 VNNI sums: ROWS rows × 32 columns (two registers of 16), 4 channels per `vpdpbusd`.
static inline __attribute__((always_inline)) AVX512_TARGET void sums_avx512(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int blocks, __m512i *sum0, __m512i *sum1,
    const int rows) {
    for (int r = 0; r < rows; r++) sum0[r] = sum1[r] = _mm512_setzero_si512();
    const int8_t *w0 = packed, *w1 = packed + (size_t)groups * 64;
    for (int g = 0; g < groups; g++) {
        const __m512i b0 = _mm512_loadu_si512(w0 + g * 64);
        const __m512i b1 = blocks > 1 ? _mm512_loadu_si512(w1 + g * 64) : _mm512_setzero_si512();
        for (int r = 0; r < rows; r++) {
            const __m512i x = _mm512_set1_epi32(load_group(a + (size_t)r * lda + g * 4));
            sum0[r] = _mm512_dpbusd_epi32(sum0[r], x, b0);
            sum1[r] = _mm512_dpbusd_epi32(sum1[r], x, b1);
        }
    }
}

/// The AVX-512 kernel storing its sums in the tile.
static inline __attribute__((always_inline)) AVX512_TARGET void tile_avx512_rows(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int blocks, int32_t *tile, const int rows) {
    __m512i sum0[TILE_ROWS], sum1[TILE_ROWS];
    sums_avx512(a, lda, packed, groups, blocks, sum0, sum1, rows);
    for (int r = 0; r < rows; r++) {
        _mm512_storeu_si512(tile + r * TILE_COLUMNS, sum0[r]);
        _mm512_storeu_si512(tile + r * TILE_COLUMNS + 16, sum1[r]);
    }
}

/// 16 sums of one row requantised in registers and stored (`count` ≤ 16 of them), as `requantize` does it; `bias`
/// and `scale` are the columns' (loaded once per tile).
static inline __attribute__((always_inline)) AVX512_TARGET void requantize_16(
    const tile_sink *sink, __m512i sum, __m512i bias, __m512 scale, int count, const uint8_t *skip,
    uint8_t *destination) {
    const satseek_requantization *q = sink->requantization;
    const __mmask16 mask = count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
    __m512 scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sum, bias)), scale);
    if (skip) {
        const __m512i r = _mm512_sub_epi32(
            _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, skip)), _mm512_set1_epi32(sink->residual_zero_point));
        scaled = _mm512_add_ps(scaled, _mm512_mul_ps(_mm512_cvtepi32_ps(r), _mm512_set1_ps(sink->residual_scale)));
    }
    __m512i value = _mm512_add_epi32(_mm512_cvtps_epi32(scaled), _mm512_set1_epi32(q->zero_point));
    value = _mm512_min_epi32(_mm512_max_epi32(value, _mm512_set1_epi32(q->minimum)), _mm512_set1_epi32(q->maximum));
    _mm_mask_storeu_epi8(destination, mask, _mm512_cvtusepi32_epi8(value));
}

/// The AVX-512 kernel with its requantisation in registers: ROWS rows × `columns` (≤ 32) at (row, column).
static inline __attribute__((always_inline)) AVX512_TARGET void tile_avx512_requantize_rows(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int blocks, const tile_sink *sink, int row,
    int column, int columns, const int rows) {
    __m512i sum0[TILE_ROWS], sum1[TILE_ROWS];
    sums_avx512(a, lda, packed, groups, blocks, sum0, sum1, rows);
    const satseek_requantization *q = sink->requantization;
    const int first = columns < 16 ? columns : 16, second = columns - first;
    const __mmask16 mask0 = first >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << first) - 1);
    const __mmask16 mask1 = second >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << second) - 1);
    const __m512i bias0 = _mm512_maskz_loadu_epi32(mask0, q->bias + column);
    const __m512 scale0 = _mm512_maskz_loadu_ps(mask0, q->scale + column);
    const __m512i bias1 = _mm512_maskz_loadu_epi32(mask1, q->bias + column + 16);
    const __m512 scale1 = _mm512_maskz_loadu_ps(mask1, q->scale + column + 16);
    for (int r = 0; r < rows; r++) {
        uint8_t *destination = sink->out + (size_t)(row + r) * sink->ldo + column;
        const uint8_t *skip = sink->residual ? sink->residual + (size_t)(row + r) * sink->ldr + column : NULL;
        requantize_16(sink, sum0[r], bias0, scale0, first, skip, destination);
        if (second > 0) requantize_16(sink, sum1[r], bias1, scale1, second, skip ? skip + 16 : NULL, destination + 16);
    }
}

static AVX512_TARGET void tile_avx512_requantize(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int rows, int blocks, const tile_sink *sink,
    int row, int column, int columns) {
    switch (rows) {
    case 6: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 6); break;
    case 5: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 5); break;
    case 4: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 4); break;
    case 3: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 3); break;
    case 2: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 2); break;
    default: tile_avx512_requantize_rows(a, lda, packed, groups, blocks, sink, row, column, columns, 1); break;
    }
}

static AVX512_TARGET void tile_avx512(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int rows, int blocks, int32_t *tile) {
    switch (rows) {
    case 6: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 6); break;
    case 5: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 5); break;
    case 4: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 4); break;
    case 3: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 3); break;
    case 2: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 2); break;
    default: tile_avx512_rows(a, lda, packed, groups, blocks, tile, 1); break;
    }
}

#define AVX_VNNI_TARGET __attribute__((target("avx2,avxvnni")))

/// AVX-VNNI: ROWS rows × 16 columns (two registers of 8).
static inline __attribute__((always_inline)) AVX_VNNI_TARGET void tile_avx_vnni_rows(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int32_t *tile, const int rows) {
    __m256i sum0[TILE_ROWS], sum1[TILE_ROWS];
    for (int r = 0; r < rows; r++) sum0[r] = sum1[r] = _mm256_setzero_si256();
    for (int g = 0; g < groups; g++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(packed + g * 64));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(packed + g * 64 + 32));
        for (int r = 0; r < rows; r++) {
            const __m256i x = _mm256_set1_epi32(load_group(a + (size_t)r * lda + g * 4));
            sum0[r] = _mm256_dpbusd_avx_epi32(sum0[r], x, b0);
            sum1[r] = _mm256_dpbusd_avx_epi32(sum1[r], x, b1);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_si256((__m256i *)(tile + r * TILE_COLUMNS), sum0[r]);
        _mm256_storeu_si256((__m256i *)(tile + r * TILE_COLUMNS + 8), sum1[r]);
    }
}

static AVX_VNNI_TARGET void tile_avx_vnni(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int rows, int blocks, int32_t *tile) {
    for (int b = 0; b < blocks; b++) {
        const int8_t *weights = packed + (size_t)b * groups * 64;
        int32_t *columns = tile + b * 16;
        switch (rows) {
        case 6: tile_avx_vnni_rows(a, lda, weights, groups, columns, 6); break;
        case 5: tile_avx_vnni_rows(a, lda, weights, groups, columns, 5); break;
        case 4: tile_avx_vnni_rows(a, lda, weights, groups, columns, 4); break;
        case 3: tile_avx_vnni_rows(a, lda, weights, groups, columns, 3); break;
        case 2: tile_avx_vnni_rows(a, lda, weights, groups, columns, 2); break;
        default: tile_avx_vnni_rows(a, lda, weights, groups, columns, 1); break;
        }
    }
}

#define AVX2_TARGET __attribute__((target("avx2")))

/// AVX2: ROWS rows × 8 columns. Weights are sign-extended to 16 bits and activations zero-extended, so
/// `vpmaddwd` sums pairs of products exactly in 32 bits (`vpmaddubsw` would saturate 255·127 + 255·127).
/// Each sum register holds two partial sums per column (channels 0–1 and 2–3 of every group), added at the end.
static inline __attribute__((always_inline)) AVX2_TARGET void tile_avx2_rows(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int32_t *tile, const int rows) {
    enum { ROWS = 4 };
    __m256i low[ROWS], high[ROWS];
    for (int r = 0; r < rows; r++) low[r] = high[r] = _mm256_setzero_si256();
    for (int g = 0; g < groups; g++) {
        // Columns 0–3 and 4–7 of this half block, 4 channels each, as 16-bit values.
        const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(packed + g * 64)));
        const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(packed + g * 64 + 16)));
        for (int r = 0; r < rows; r++) {
            const __m128i bytes = _mm_cvtsi32_si128(load_group(a + (size_t)r * lda + g * 4));
            const __m256i x = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(bytes));
            low[r] = _mm256_add_epi32(low[r], _mm256_madd_epi16(x, w0));
            high[r] = _mm256_add_epi32(high[r], _mm256_madd_epi16(x, w1));
        }
    }
    for (int r = 0; r < rows; r++) {
        // hadd gives columns (0, 1, 4, 5 | 2, 3, 6, 7); the permutation puts them in order.
        const __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(low[r], high[r]), 0xD8);
        _mm256_storeu_si256((__m256i *)(tile + r * TILE_COLUMNS), sums);
    }
}

static AVX2_TARGET void tile_avx2(
    const uint8_t *a, int lda, const int8_t *packed, int groups, int rows, int blocks, int32_t *tile) {
    for (int b = 0; b < blocks; b++) {
        for (int half = 0; half < 2; half++) {
            const int8_t *weights = packed + (size_t)b * groups * 64 + half * 32;
            // Within a group the half's 8 columns are 32 consecutive bytes; groups stay 64 bytes apart.
            int32_t *columns = tile + b * 16 + half * 8;
            for (int r0 = 0; r0 < rows; r0 += 4) {
                const int count = rows - r0 < 4 ? rows - r0 : 4;
                const uint8_t *rowsA = a + (size_t)r0 * lda;
                int32_t *rowsTile = columns + r0 * TILE_COLUMNS;
                switch (count) {
                case 4: tile_avx2_rows(rowsA, lda, weights, groups, rowsTile, 4); break;
                case 3: tile_avx2_rows(rowsA, lda, weights, groups, rowsTile, 3); break;
                case 2: tile_avx2_rows(rowsA, lda, weights, groups, rowsTile, 2); break;
                default: tile_avx2_rows(rowsA, lda, weights, groups, rowsTile, 1); break;
                }
            }
        }
    }
}

#endif

typedef void (*tile_kernel)(const uint8_t *, int, const int8_t *, int, int, int, int32_t *);

static tile_kernel kernel_for(int level) {
#if defined(__x86_64__)
    if (!satseek_qgemm_supports(level)) return tile_portable;
    switch (level) {
    case SATSEEK_QGEMM_AVX512_VNNI: return tile_avx512;
    case SATSEEK_QGEMM_AVX_VNNI: return tile_avx_vnni;
    case SATSEEK_QGEMM_AVX2: return tile_avx2;
    default: return tile_portable;
    }
#else
    (void)level;
    return tile_portable;
#endif
}

static void qgemm(int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k,
                  const tile_sink *sink) {
    if (m <= 0 || n <= 0 || k <= 0) return;
    const tile_kernel kernel = kernel_for(level);
    const int store_level = satseek_qgemm_supports(level) ? level : SATSEEK_QGEMM_PORTABLE;
    // AVX-512 requantises in its registers; the others store a tile of sums first.
    const int fused = store_level == SATSEEK_QGEMM_AVX512_VNNI && sink->c == NULL;
    const int groups = round_up(k, 4) / 4;
    const int blocks = round_up(n, 16) / 16;
    int32_t tile[TILE_ROWS * TILE_COLUMNS];
    // Columns in pairs of 16-column blocks (the AVX-512 kernel's width), rows TILE_ROWS at a time.
    for (int block = 0; block < blocks; block += 2) {
        const int pair = blocks - block < 2 ? 1 : 2;
        const int8_t *weights = packed + (size_t)block * groups * 64;
        const int column = block * 16;
        const int columns = n - column < pair * 16 ? n - column : pair * 16;
        for (int row = 0; row < m; row += TILE_ROWS) {
            const int rows = m - row < TILE_ROWS ? m - row : TILE_ROWS;
#if defined(__x86_64__)
            if (fused) {
                tile_avx512_requantize(a + (size_t)row * lda, lda, weights, groups, rows, pair, sink, row, column,
                                       columns);
                continue;
            }
#endif
            kernel(a + (size_t)row * lda, lda, weights, groups, rows, pair, tile);
            store_tile(sink, tile, row, column, rows, columns, store_level);
        }
    }
}

void satseek_qgemm_u8s8_s32(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k, int32_t *c, int ldc) {
    const tile_sink sink = {c, ldc, NULL, 0, NULL, NULL, 0, 0, 0};
    qgemm(level, a, lda, packed, m, n, k, &sink);
}

void satseek_qgemm_u8s8_u8(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k,
    const satseek_requantization *requantization, uint8_t *out, int ldo) {
    const tile_sink sink = {NULL, 0, out, ldo, requantization, NULL, 0, 0, 0};
    qgemm(level, a, lda, packed, m, n, k, &sink);
}

void satseek_qgemm_u8s8_u8_residual(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k,
    const satseek_requantization *requantization, const uint8_t *residual, int ldr, int residual_zero_point,
    float residual_scale, uint8_t *out, int ldo) {
    const tile_sink sink = {NULL, 0, out, ldo, requantization, residual, ldr, residual_zero_point, residual_scale};
    qgemm(level, a, lda, packed, m, n, k, &sink);
}
