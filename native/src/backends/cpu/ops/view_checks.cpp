#include "backends/cpu/ops/view_checks.hpp"

#include <cstring>

#include "core/dtype.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::ops {

std::string shape_string(const core::TensorView& v) {
    std::string s = "[";
    for (int d = 0; d < v.rank; ++d) {
        if (d > 0) {
            s += ", ";
        }
        s += std::to_string(v.dim(d));
    }
    return s + "]";
}

void require_f32(const core::TensorView& v, const char* op, const char* name) {
    if (v.dtype != ND_DTYPE_F32) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} must be F32, got {}", op, name,
                          core::dtype_name(v.dtype));
    }
    if (v.data == nullptr && v.elements() > 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} has no data", op, name);
    }
}

void require_rank(const core::TensorView& v, int rank, const char* op, const char* name) {
    if (v.rank != rank) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} must have {} dimensions, got {} {}", op, name, rank,
                          v.rank, shape_string(v));
    }
}

void require_same_shape(const core::TensorView& a, const core::TensorView& b, const char* op, const char* a_name,
                        const char* b_name) {
    bool same = a.rank == b.rank;
    for (int d = 0; same && d < a.rank; ++d) {
        same = a.dim(d) == b.dim(d);
    }
    if (!same) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} {} and {} {} must have the same shape", op, a_name,
                          shape_string(a), b_name, shape_string(b));
    }
}

void require_inner_contiguous(const core::TensorView& v, const char* op, const char* name) {
    if (v.rank > 0 && v.dim(v.rank - 1) > 1 && v.stride(v.rank - 1) != static_cast<std::int64_t>(sizeof(float))) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "{}: the last dimension of {} {} must be contiguous (stride {} bytes, expected {})", op,
                          name, shape_string(v), v.stride(v.rank - 1), sizeof(float));
    }
}

const float* f32_parameter(const core::TensorView& v, std::int64_t size, const char* op, const char* name,
                           std::vector<float>& storage) {
    if (v.data == nullptr) {
        return nullptr;
    }
    if (v.dtype != ND_DTYPE_F32 && v.dtype != ND_DTYPE_F16 && v.dtype != ND_DTYPE_BF16) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} must be F32, F16 or BF16, got {}", op, name,
                          core::dtype_name(v.dtype));
    }
    if (v.rank != 1 || v.dim(0) != size) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} {} must have {} elements", op, name, shape_string(v),
                          size);
    }
    if (v.dtype == ND_DTYPE_F32 && (size <= 1 || v.stride(0) == static_cast<std::int64_t>(sizeof(float)))) {
        return v.as<const float>();
    }
    storage.resize(static_cast<std::size_t>(size));
    for (std::int64_t i = 0; i < size; ++i) {
        const std::byte* p = v.data + i * v.stride(0);
        if (v.dtype == ND_DTYPE_F32) {
            std::memcpy(&storage[static_cast<std::size_t>(i)], p, sizeof(float));
        } else {
            std::uint16_t bits;
            std::memcpy(&bits, p, sizeof(bits));
            storage[static_cast<std::size_t>(i)] =
                v.dtype == ND_DTYPE_F16 ? core::f16_to_f32(bits) : core::bf16_to_f32(bits);
        }
    }
    return storage.data();
}

core::TensorView as_4d(const core::TensorView& v) {
    core::TensorView r = v;
    const int missing = core::kMaxDims - v.rank;
    for (int d = core::kMaxDims - 1; d >= 0; --d) {
        const int source = d - missing;
        r.shape[static_cast<std::size_t>(d)] = source >= 0 ? v.dim(source) : 1;
        r.strides[static_cast<std::size_t>(d)] = source >= 0 ? v.stride(source) : 0;
    }
    r.rank = core::kMaxDims;
    return r;
}

} // namespace nd::backends::cpu::ops
