// What every op checks before it touches memory: dtypes, ranks and shapes, with errors that name the op and
// print the shapes, plus 4-D index helpers for strided views.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/tensor_view.hpp"

namespace nd::backends::cpu::ops {

// "[1, 320, 64, 64]"
std::string shape_string(const core::TensorView& v);

// Throws ND_STATUS_INVALID_ARGUMENT "<op>: <name> must be F32, got F16" (etc.) unless the view is F32 with data.
void require_f32(const core::TensorView& v, const char* op, const char* name);

// Throws unless `v` has exactly `rank` dimensions.
void require_rank(const core::TensorView& v, int rank, const char* op, const char* name);

// Throws unless `a` and `b` have the same shape.
void require_same_shape(const core::TensorView& a, const core::TensorView& b, const char* op, const char* a_name,
                        const char* b_name);

// Throws unless the innermost dimension is contiguous (kernels stream along it).
void require_inner_contiguous(const core::TensorView& v, const char* op, const char* name);

// A rank-1 parameter of `size` elements (a norm's weight or bias, a convolution bias) in F32, F16 or BF16 with
// any stride, as contiguous floats: the view's own memory when it already is contiguous F32, otherwise
// converted into `storage`. nullptr when the view is absent (data == nullptr). Throws naming op and name.
const float* f32_parameter(const core::TensorView& v, std::int64_t size, const char* op, const char* name,
                           std::vector<float>& storage);

// The view as exactly four dimensions: leading size-1 dimensions with stride 0 are added in front.
core::TensorView as_4d(const core::TensorView& v);

inline float* f32_at(const core::TensorView& v, std::int64_t i0, std::int64_t i1, std::int64_t i2,
                     std::int64_t i3) noexcept {
    return reinterpret_cast<float*>(v.data + i0 * v.strides[0] + i1 * v.strides[1] + i2 * v.strides[2] +
                                    i3 * v.strides[3]);
}

} // namespace nd::backends::cpu::ops
