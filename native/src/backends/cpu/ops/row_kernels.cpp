// The baseline build of row_kernels.inl (what Isa::Scalar runs) and the table dispatch.
#include "backends/cpu/ops/row_kernels.hpp"

#include <cmath>

#include "backends/cpu/ops/simd.hpp"
#include "backends/cpu/ops/vector_math.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::ops::detail {

#define ND_ROW_VEC simd::VecScalar
#define ND_ROW_TABLE kRowKernelsScalar
#include "backends/cpu/ops/row_kernels.inl"
#undef ND_ROW_VEC
#undef ND_ROW_TABLE

const RowKernels& row_kernels(Isa isa) noexcept {
    const std::uint64_t features = cpu_features();
    if (isa == Isa::Avx512 && isa_supported(Isa::Avx512, features)) {
        return kRowKernelsAvx512;
    }
    if ((isa == Isa::Avx2 || isa == Isa::Avx512) && isa_supported(Isa::Avx2, features)) {
        return kRowKernelsAvx2;
    }
    return kRowKernelsScalar;
}

} // namespace nd::backends::cpu::ops::detail
