// The scalar requantisation both kernel files share (private to the target): the definition every vector path
// matches — IEEE conversion and product, round half to even, zero point, clamp.
#ifndef SATSEEK_REQUANTIZE_H
#define SATSEEK_REQUANTIZE_H

#include <math.h>

#include "CQuantizedKernels.h"

/// `scaled` (the sum's real value over the output scale) as a byte: rounded half to even, shifted by the zero point
/// and clamped to the layer's range.
static inline uint8_t satseek_requantize_scaled(const satseek_requantization *q, float scaled) {
    int32_t value = (int32_t)nearbyintf(scaled) + q->zero_point;
    value = value < q->minimum ? q->minimum : value;
    value = value > q->maximum ? q->maximum : value;
    return (uint8_t)value;
}

/// Sum `sum` of column `j` requantised: `float(sum + bias[j]) · scale[j]`, then ``satseek_requantize_scaled``.
static inline uint8_t satseek_requantize_sum(const satseek_requantization *q, int32_t sum, int j) {
    return satseek_requantize_scaled(q, (float)(sum + q->bias[j]) * q->scale[j]);
}

#endif
