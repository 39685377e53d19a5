// Integer kernels of SatSeek's int8 inference: C = A · Wᵀ with A unsigned 8-bit activations (pixels × channels,
// channels-last) and W signed 8-bit weights (outputs × channels), accumulated exactly in 32 bits, written as int32
// or requantised to unsigned 8 bits. One packed weight layout serves every kernel; the kernel is chosen at run
// time from what the CPU has (AVX-512 VNNI, AVX-VNNI, AVX2), never from the machine that built the binary, and
// every kernel gives bit-identical results (the integer sums are exact; requantisation is shared code).
#ifndef SATSEEK_QUANTIZED_KERNELS_H
#define SATSEEK_QUANTIZED_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel sets, from the portable C loops (0) up.
enum satseek_qgemm_level {
    SATSEEK_QGEMM_PORTABLE = 0,
    /// 256-bit `vpmaddwd` on sign-extended weights (exact: no 16-bit saturation, unlike `vpmaddubsw`).
    SATSEEK_QGEMM_AVX2 = 1,
    /// 256-bit `vpdpbusd` (Alder Lake and later, Zen 5).
    SATSEEK_QGEMM_AVX_VNNI = 2,
    /// 512-bit `vpdpbusd` (Cascade Lake and later, Zen 4).
    SATSEEK_QGEMM_AVX512_VNNI = 3,
};

/// The best level this CPU runs (checked with the CPU's feature flags at run time).
int satseek_qgemm_best_level(void);
/// 1 when this CPU can run `level`.
int satseek_qgemm_supports(int level);

/// Bytes of the packed form of an n × k weight matrix: n rounded up to 16, k to 4.
size_t satseek_qgemm_packed_size(int n, int k);
/// Packs row-major int8 weights (n × k) into `packed` (satseek_qgemm_packed_size bytes): blocks of 16 outputs,
/// in each 4 consecutive channels of every output together; padding is zero.
void satseek_qgemm_pack(const int8_t *weights, int n, int k, int8_t *packed);

/// Requantisation of an int32 sum `s` of output column j:
/// `clamp(nearbyint(float(s + bias[j]) · scale[j]) + zero_point, minimum, maximum)` (round half to even).
typedef struct {
    const int32_t *bias;
    const float *scale;
    int32_t zero_point;
    int32_t minimum;
    int32_t maximum;
} satseek_requantization;

/// C[i][j] = Σₖ A[i][k] · W[j][k] for i < m, j < n: `a` has m rows of `lda` bytes (lda ≥ k rounded up to 4; the
/// bytes past k are read and multiplied by zero, so the buffer must hold (m − 1) · lda + k rounded up to 4 bytes),
/// `c` m rows of `ldc` int32 values (ldc ≥ n). An unsupported level runs the portable loops.
void satseek_qgemm_u8s8_s32(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k, int32_t *c, int ldc);

/// The same products requantised to unsigned bytes: out[i][j] (rows of `ldo` bytes, ldo ≥ n).
void satseek_qgemm_u8s8_u8(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k,
    const satseek_requantization *requantization, uint8_t *out, int ldo);

/// Copies a `height × width × channels` byte map into the middle of a `(top + height + bottom) × (left + width +
/// right)` one whose border holds `value` (the input's zero point: real zero); writes that map's rows
/// `row_begin..<row_end` only (so that threads can share the copy).
void satseek_pad_u8(
    const uint8_t *input, int height, int width, int channels, int top, int left, int bottom, int right,
    uint8_t value, int row_begin, int row_end, uint8_t *output);

/// The products requantised with a residual added (the skip connection of an inverted-residual block):
/// `clamp(nearbyint(float(s + bias[j]) · scale[j] + float(r − residual_zero_point) · residual_scale) + zero_point,
/// minimum, maximum)`, the two products rounded separately and never fused; `residual` has m rows of `ldr` bytes.
void satseek_qgemm_u8s8_u8_residual(
    int level, const uint8_t *a, int lda, const int8_t *packed, int m, int n, int k,
    const satseek_requantization *requantization, const uint8_t *residual, int ldr, int residual_zero_point,
    float residual_scale, uint8_t *out, int ldo);

/// A depthwise convolution on unsigned bytes, channels-last, over an input already padded (`satseek_pad_u8`, rows
/// of `padded_width` pixels; padded far enough right for output columns rounded up to 4), for output rows
/// `row_begin..<row_end` of `out_width` pixels: for every output pixel and channel c, `s = Σ_taps x · w[tap][c]`,
/// requantised like the GEMM (column = channel). `weights` are int8 values held as floats (`kernel² × channels`);
/// the sums are computed in float and are exact (|s| ≤ 25 · 255 · 127 < 2²⁴), so every CPU gives the same bytes.
void satseek_depthwise_u8(
    int level, const uint8_t *padded, int padded_width, int channels, const float *weights, int kernel, int stride,
    int out_width, int row_begin, int row_end, const satseek_requantization *requantization, uint8_t *output);

/// The patches of a k × k convolution with few input channels (a network's stem) as GEMM rows: for output rows
/// `row_begin..<row_end` of `out_width` pixels, row `oy · out_width + ox` of `output` (rows of `row_bytes` ≥
/// channels · k² bytes, the rest zero) holds input bytes `[c][oy · stride − top + ky][ox · stride − left + kx]` in
/// (c, ky, kx) order — PyTorch's OIHW order — with `zero_point` where that is outside the channel-major
/// `channels × height × width` input.
void satseek_im2col_u8(
    const uint8_t *input, int channels, int height, int width, int kernel, int stride, int top, int left,
    int out_width, int row_begin, int row_end, uint8_t zero_point, int row_bytes, uint8_t *output);

/// `count` floats quantised: `clamp(nearbyint(x / scale) + zero_point, 0, 255)`.
void satseek_quantize_u8(const float *input, int count, float scale, int zero_point, uint8_t *output);

#ifdef __cplusplus
}
#endif

#endif
