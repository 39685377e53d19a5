// The int8 network's other kernels (see include/CQuantizedKernels.h): depthwise convolution and quantisation. Each is written once in plain C and compiled for AVX-512, AVX2 and the
// baseline; the compiler vectorises the channel loops. Results are identical on every CPU: the depthwise sums are
// integers held exactly in float (fused or not), and no other product is fused into an addition (contraction is
// off in this file but for the depthwise sums).
#include "CQuantizedKernels.h"
#include "Requantize.h"

#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

enum { DEPTHWISE_PIXELS = 4, DEPTHWISE_CHANNELS = 16 };

void satseek_pad_u8(
    const uint8_t *input, int height, int width, int channels, int top, int left, int bottom, int right,
    uint8_t value, int row_begin, int row_end, uint8_t *output) {
    const int padded_width = width + left + right;
    const size_t row = (size_t)padded_width * channels;
    if (row_begin < 0) row_begin = 0;
    if (row_end > top + height + bottom) row_end = top + height + bottom;
    for (int y = row_begin; y < row_end; y++) {
        uint8_t *destination = output + (size_t)y * row;
        if (y < top || y >= top + height) {
            memset(destination, value, row);
            continue;
        }
        memset(destination, value, (size_t)left * channels);
        memcpy(destination + (size_t)left * channels, input + (size_t)(y - top) * width * channels,
               (size_t)width * channels);
        memset(destination + (size_t)(left + width) * channels, value, (size_t)right * channels);
    }
}

/// `DEPTHWISE_PIXELS` neighbouring output pixels × `block` channels from `c0` over the padded input: the sums stay
/// in registers over all taps (one weight load serves the four pixels), then are requantised. Pixels past the
/// row's end are read from the padding (the caller pads for them) and not stored.
static inline __attribute__((always_inline)) void depthwise_block(
    const uint8_t *restrict padded, int padded_width, int channels, const float *restrict weights,
    const int kernel, int stride, int oy, int ox0, int pixels, int c0, const int block,
    const satseek_requantization *requantization, uint8_t *restrict output, int out_width) {
    // Every product and partial sum is an integer below 2²⁴, exact in float: fusing them changes nothing.
#pragma clang fp contract(fast)
    float sums[DEPTHWISE_PIXELS][DEPTHWISE_CHANNELS];
    for (int p = 0; p < DEPTHWISE_PIXELS; p++) {
        for (int c = 0; c < block; c++) sums[p][c] = 0;
    }
    // Each input pixel of a kernel row is converted once and used by every tap and output pixel that reaches it.
    enum { MOST_INPUTS = (DEPTHWISE_PIXELS - 1) * 2 + 7 };
    const int inputs = (DEPTHWISE_PIXELS - 1) * stride + kernel;
    for (int ky = 0; ky < kernel; ky++) {
        const uint8_t *restrict row = padded + ((size_t)(oy * stride + ky) * padded_width + ox0 * stride) * channels + c0;
        float x[MOST_INPUTS][DEPTHWISE_CHANNELS];
        for (int i = 0; i < inputs; i++) {
            for (int c = 0; c < block; c++) x[i][c] = (float)row[(size_t)i * channels + c];
        }
        for (int kx = 0; kx < kernel; kx++) {
            const float *restrict w = weights + (size_t)(ky * kernel + kx) * channels + c0;
            for (int p = 0; p < DEPTHWISE_PIXELS; p++) {
                for (int c = 0; c < block; c++) sums[p][c] += x[p * stride + kx][c] * w[c];
            }
        }
    }
    for (int p = 0; p < pixels; p++) {
        uint8_t *restrict y = output + ((size_t)oy * out_width + ox0 + p) * channels + c0;
        for (int c = 0; c < block; c++) y[c] = satseek_requantize_sum(requantization, (int32_t)sums[p][c], c0 + c);
    }
}

/// One kernel size's loops (a constant, so the tap loops unroll).
static inline __attribute__((always_inline)) void depthwise_kernel(
    const uint8_t *padded, int padded_width, int channels, const float *weights, const int kernel, const int stride,
    int out_width, int row_begin, int row_end, const satseek_requantization *requantization, uint8_t *output) {
    const int whole = channels / DEPTHWISE_CHANNELS * DEPTHWISE_CHANNELS;
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox0 = 0; ox0 < out_width; ox0 += DEPTHWISE_PIXELS) {
            const int pixels = out_width - ox0 < DEPTHWISE_PIXELS ? out_width - ox0 : DEPTHWISE_PIXELS;
            for (int c0 = 0; c0 < whole; c0 += DEPTHWISE_CHANNELS) {
                depthwise_block(padded, padded_width, channels, weights, kernel, stride, oy, ox0, pixels, c0,
                                DEPTHWISE_CHANNELS, requantization, output, out_width);
            }
            for (int c0 = whole; c0 < channels; c0++) {
                depthwise_block(padded, padded_width, channels, weights, kernel, stride, oy, ox0, pixels, c0, 1,
                                requantization, output, out_width);
            }
        }
    }
}

static inline __attribute__((always_inline)) void depthwise_rows(
    const uint8_t *padded, int padded_width, int channels, const float *weights, int kernel, int stride,
    int out_width, int row_begin, int row_end, const satseek_requantization *requantization, uint8_t *output) {
    // Kernel size and stride as constants: the tap loops unroll and the converted inputs stay in registers.
#define DEPTHWISE_CASE(K, S)                                                                                      \
    if (kernel == K && stride == S) {                                                                             \
        depthwise_kernel(padded, padded_width, channels, weights, K, S, out_width, row_begin, row_end,            \
                         requantization, output);                                                                 \
        return;                                                                                                   \
    }
    DEPTHWISE_CASE(3, 1)
    DEPTHWISE_CASE(3, 2)
    DEPTHWISE_CASE(5, 1)
    DEPTHWISE_CASE(5, 2)
#undef DEPTHWISE_CASE
    if (kernel <= 7 && stride <= 2) {
        depthwise_kernel(padded, padded_width, channels, weights, kernel, stride, out_width, row_begin, row_end,
                         requantization, output);
    }
}

#define DEPTHWISE_ARGUMENTS                                                                                   \
    padded, padded_width, channels, weights, kernel, stride, out_width, row_begin, row_end, requantization, output
#define DEPTHWISE_PARAMETERS                                                                                  \
    const uint8_t *padded, int padded_width, int channels, const float *weights, int kernel, int stride,       \
        int out_width, int row_begin, int row_end, const satseek_requantization *requantization, uint8_t *output

static void depthwise_portable(DEPTHWISE_PARAMETERS) { depthwise_rows(DEPTHWISE_ARGUMENTS); }
#if defined(__x86_64__)
static __attribute__((target("avx2,fma"))) void depthwise_avx2(DEPTHWISE_PARAMETERS) {
    depthwise_rows(DEPTHWISE_ARGUMENTS);
}
static __attribute__((target("avx512f,avx512bw,avx512vl"))) void depthwise_avx512(DEPTHWISE_PARAMETERS) {
    depthwise_rows(DEPTHWISE_ARGUMENTS);
}
#endif

void satseek_depthwise_u8(int level, DEPTHWISE_PARAMETERS) {
#if defined(__x86_64__)
    if (level >= SATSEEK_QGEMM_AVX512_VNNI && satseek_qgemm_supports(SATSEEK_QGEMM_AVX512_VNNI)) {
        depthwise_avx512(DEPTHWISE_ARGUMENTS);
        return;
    }
    if (level >= SATSEEK_QGEMM_AVX2 && satseek_qgemm_supports(SATSEEK_QGEMM_AVX2)) {
        depthwise_avx2(DEPTHWISE_ARGUMENTS);
        return;
    }
#endif
    depthwise_portable(DEPTHWISE_ARGUMENTS);
}

void satseek_im2col_u8(
    const uint8_t *input, int channels, int height, int width, int kernel, int stride, int top, int left,
    int out_width, int row_begin, int row_end, uint8_t zero_point, int row_bytes, uint8_t *output) {
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox = 0; ox < out_width; ox++) {
            uint8_t *row = output + ((size_t)oy * out_width + ox) * row_bytes;
            const int iy0 = oy * stride - top, ix0 = ox * stride - left;
            if (kernel == 3 && iy0 >= 0 && iy0 + 3 <= height && ix0 >= 0 && ix0 + 4 <= width
                && row_bytes >= channels * 9 + 1) {
                // Inside the image (the common case): each kernel row's 3 bytes by one 4-byte copy, in rising
                // order so that the next copy overwrites the extra byte; the last one lands in the row's padding,
                // cleared after.
                for (int c = 0; c < channels; c++) {
                    const uint8_t *source = input + ((size_t)c * height + iy0) * width + ix0;
                    for (int ky = 0; ky < 3; ky++) memcpy(row + (c * 3 + ky) * 3, source + (size_t)ky * width, 4);
                }
                memset(row + channels * 9, 0, (size_t)(row_bytes - channels * 9));
                continue;
            }
            int t = 0;
            for (int c = 0; c < channels; c++) {
                const uint8_t *plane = input + (size_t)c * height * width;
                for (int ky = 0; ky < kernel; ky++) {
                    const int iy = iy0 + ky;
                    for (int kx = 0; kx < kernel; kx++, t++) {
                        const int ix = ix0 + kx;
                        row[t] = (iy >= 0 && iy < height && ix >= 0 && ix < width)
                            ? plane[(size_t)iy * width + ix] : zero_point;
                    }
                }
            }
            for (; t < row_bytes; t++) row[t] = 0;
        }
    }
}

static inline __attribute__((always_inline)) void quantize_values(
    const float *input, int count, float scale, int zero_point, uint8_t *output) {
    for (int i = 0; i < count; i++) {
        int32_t value = (int32_t)nearbyintf(input[i] / scale) + zero_point;
        value = value < 0 ? 0 : value;
        value = value > 255 ? 255 : value;
        output[i] = (uint8_t)value;
    }
}

// The baseline has no rounding instruction (nearbyintf is a library call there); AVX2 machines get the loops
// vectorised with `vroundps`, which rounds the same way.
#if defined(__x86_64__)
static __attribute__((target("avx2"))) void quantize_avx2(
    const float *input, int count, float scale, int zero_point, uint8_t *output) {
    quantize_values(input, count, scale, zero_point, output);
}
#endif

void satseek_quantize_u8(const float *input, int count, float scale, int zero_point, uint8_t *output) {
#if defined(__x86_64__)
    if (satseek_qgemm_supports(SATSEEK_QGEMM_AVX2)) {
        quantize_avx2(input, count, scale, zero_point, output);
        return;
    }
#endif
    quantize_values(input, count, scale, zero_point, output);
}
