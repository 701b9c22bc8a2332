// row_kernels.inl compiled with the avx512 flags (see native/CMakeLists.txt); row_kernels() hands this table out
// only on CPUs that have them.
#include "backends/cpu/ops/simd.hpp" // first: it includes immintrin.h (see there)

#include <cmath>

#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/vector_math.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::ops::detail {

#define ND_ROW_VEC simd::VecAvx512
#define ND_ROW_TABLE kRowKernelsAvx512
#include "backends/cpu/ops/row_kernels.inl"

} // namespace nd::backends::cpu::ops::detail
