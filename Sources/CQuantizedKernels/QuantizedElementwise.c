// The int8 network's other kernels (see include/CQuantizedKernels.h): depthwise convolution, residual
// requantisation and quantisation. Each is written once in plain C and compiled for AVX-512, AVX2 and the
// baseline; the compiler vectorises the channel loops. Results are identical on every CPU: the depthwise sums are
// integers held exactly in float, and no product is fused into an addition (contraction is off in this file).
#include "CQuantizedKernels.h"

#include <math.h>

#pragma clang fp contract(off)

static inline uint8_t requantize_sum(const satseek_requantization *q, int32_t sum, int j) {
    const float scaled = (float)(sum + q->bias[j]) * q->scale[j];
    int32_t value = (int32_t)nearbyintf(scaled) + q->zero_point;
    value = value < q->minimum ? q->minimum : value;
    value = value > q->maximum ? q->maximum : value;
    return (uint8_t)value;
}

/// The depthwise loops, inlined into one copy per instruction set below.
static inline __attribute__((always_inline)) void depthwise_rows(
    const uint8_t *input, int height, int width, int channels, int input_zero_point, const float *weights,
    int kernel, int stride, int pad_top, int pad_left, int out_width, int row_begin, int row_end,
    const satseek_requantization *requantization, float *scratch, uint8_t *output) {
    const float zero = (float)input_zero_point;
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox = 0; ox < out_width; ox++) {
            for (int c = 0; c < channels; c++) scratch[c] = 0;
            for (int ky = 0; ky < kernel; ky++) {
                const int iy = oy * stride + ky - pad_top;
                for (int kx = 0; kx < kernel; kx++) {
                    const int ix = ox * stride + kx - pad_left;
                    const float *w = weights + (size_t)(ky * kernel + kx) * channels;
                    if (iy < 0 || iy >= height || ix < 0 || ix >= width) {
                        if (input_zero_point != 0) {
                            for (int c = 0; c < channels; c++) scratch[c] += zero * w[c];
                        }
                        continue;
                    }
                    const uint8_t *x = input + ((size_t)iy * width + ix) * channels;
                    for (int c = 0; c < channels; c++) scratch[c] += (float)x[c] * w[c];
                }
            }
            uint8_t *y = output + ((size_t)oy * out_width + ox) * channels;
            for (int c = 0; c < channels; c++) y[c] = requantize_sum(requantization, (int32_t)scratch[c], c);
        }
    }
}

#define DEPTHWISE_ARGUMENTS                                                                                   \
    input, height, width, channels, input_zero_point, weights, kernel, stride, pad_top, pad_left, out_width,  \
        row_begin, row_end, requantization, scratch, output
#define DEPTHWISE_PARAMETERS                                                                                  \
    const uint8_t *input, int height, int width, int channels, int input_zero_point, const float *weights,    \
        int kernel, int stride, int pad_top, int pad_left, int out_width, int row_begin, int row_end,         \
        const satseek_requantization *requantization, float *scratch, uint8_t *output

static void depthwise_portable(DEPTHWISE_PARAMETERS) { depthwise_rows(DEPTHWISE_ARGUMENTS); }
#if defined(__x86_64__)
static __attribute__((target("avx2,fma"))) void depthwise_avx2(DEPTHWISE_PARAMETERS) {
    depthwise_rows(DEPTHWISE_ARGUMENTS);
}
static __attribute__((target("avx512f,avx512bw,avx512vl"))) void depthwise_avx512(DEPTHWISE_PARAMETERS) {
    depthwise_rows(DEPTHWISE_ARGUMENTS);
}
#endif

void satseek_depthwise_u8(
    int level, const uint8_t *input, int height, int width, int channels, int input_zero_point,
    const float *weights, int kernel, int stride, int pad_top, int pad_left, int out_width, int row_begin,
    int row_end, const satseek_requantization *requantization, float *scratch, uint8_t *output) {
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

void satseek_requantize_residual(
    const int32_t *sums, int rows, int columns, const satseek_requantization *q, const uint8_t *residual,
    int residual_zero_point, float residual_scale, uint8_t *output) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < columns; j++) {
            const size_t at = (size_t)i * columns + j;
            const float main = (float)(sums[at] + q->bias[j]) * q->scale[j];
            const float skip = (float)((int32_t)residual[at] - residual_zero_point) * residual_scale;
            int32_t value = (int32_t)nearbyintf(main + skip) + q->zero_point;
            value = value < q->minimum ? q->minimum : value;
            value = value > q->maximum ? q->maximum : value;
            output[at] = (uint8_t)value;
        }
    }
}

void satseek_quantize_u8(const float *input, int count, float scale, int zero_point, uint8_t *output) {
    for (int i = 0; i < count; i++) {
        int32_t value = (int32_t)nearbyintf(input[i] / scale) + zero_point;
        value = value < 0 ? 0 : value;
        value = value > 255 ? 255 : value;
        output[i] = (uint8_t)value;
    }
}
