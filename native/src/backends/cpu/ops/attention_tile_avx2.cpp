// attention_tile.inl compiled with the avx2 flags (see native/CMakeLists.txt); called only on CPUs that have them.
#include <algorithm>
#include <cmath>

#include "backends/cpu/ops/attention.hpp"
#include "backends/cpu/ops/fast_exp.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops::detail {

#define ND_ATTENTION_TILE_NAME attention_tile_avx2
#include "backends/cpu/ops/attention_tile.inl"
#undef ND_ATTENTION_TILE_NAME

} // namespace nd::backends::cpu::ops::detail
