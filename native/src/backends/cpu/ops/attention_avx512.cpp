// attention_kernel.inl compiled with the avx512 flags (see native/CMakeLists.txt); attention.cpp calls it only
// on CPUs that have them.
#include "backends/cpu/ops/simd.hpp" // first: it includes immintrin.h (see there)

#include <algorithm>
#include <cmath>

#include "backends/cpu/ops/attention_kernel.hpp"
#include "backends/cpu/ops/vector_math.hpp"

namespace nd::backends::cpu::ops::detail {

#define ND_ATTENTION_VEC simd::VecAvx512
#define ND_ATTENTION_TILE_NAME attention_tile_avx512
#define ND_ATTENTION_SCORE_KEYS 6
#define ND_ATTENTION_SCORE_VECS 4
#define ND_ATTENTION_ACCUMULATORS 24
#define ND_ATTENTION_MAX_CHUNK 3
#include "backends/cpu/ops/attention_kernel.inl"

} // namespace nd::backends::cpu::ops::detail
