#include "core/dtype.hpp"

#include <array>
#include <limits>

#include "core/error.hpp"

namespace nd::core {

namespace {

struct DtypeInfo {
    nd_dtype dtype;
    const char* name;
    std::size_t block_elements;
    std::size_t block_bytes;
};

// Indexed by the enum value: the static_assert below keeps table and enum in step. Block sizes are GGML's,
// so that GGUF tensors are used as they lie in the file.
constexpr std::array<DtypeInfo, 26> kDtypes{{
    {ND_DTYPE_F32, "F32", 1, 4},
    {ND_DTYPE_F16, "F16", 1, 2},
    {ND_DTYPE_BF16, "BF16", 1, 2},
    {ND_DTYPE_F64, "F64", 1, 8},
    {ND_DTYPE_F8_E4M3, "F8_E4M3", 1, 1},
    {ND_DTYPE_F8_E5M2, "F8_E5M2", 1, 1},
    {ND_DTYPE_I8, "I8", 1, 1},
    {ND_DTYPE_I16, "I16", 1, 2},
    {ND_DTYPE_I32, "I32", 1, 4},
    {ND_DTYPE_I64, "I64", 1, 8},
    {ND_DTYPE_U8, "U8", 1, 1},
    {ND_DTYPE_U16, "U16", 1, 2},
    {ND_DTYPE_U32, "U32", 1, 4},
    {ND_DTYPE_U64, "U64", 1, 8},
    {ND_DTYPE_BOOL, "BOOL", 1, 1},
    {ND_DTYPE_Q8_0, "Q8_0", 32, 2 + 32},            // f16 scale, 32 x int8
    {ND_DTYPE_Q4_0, "Q4_0", 32, 2 + 16},            // f16 scale, 32 x 4 bits
    {ND_DTYPE_Q4_1, "Q4_1", 32, 2 + 2 + 16},        // f16 scale and min, 32 x 4 bits
    {ND_DTYPE_Q5_0, "Q5_0", 32, 2 + 4 + 16},        // f16 scale, 32 high bits, 32 x 4 low bits
    {ND_DTYPE_Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16},    // f16 scale and min, high bits, low bits
    {ND_DTYPE_Q2_K, "Q2_K", 256, 16 + 64 + 2 + 2},  // 4-bit scales/mins, 2-bit quants, f16 d, dmin
    {ND_DTYPE_Q3_K, "Q3_K", 256, 32 + 64 + 12 + 2}, // high-bit mask, 2-bit quants, 6-bit scales, f16 d
    {ND_DTYPE_Q4_K, "Q4_K", 256, 2 + 2 + 12 + 128}, // f16 d, dmin, 6-bit scales/mins, 4-bit quants
    {ND_DTYPE_Q5_K, "Q5_K", 256, 2 + 2 + 12 + 32 + 128},
    {ND_DTYPE_Q6_K, "Q6_K", 256, 128 + 64 + 16 + 2}, // low 4 bits, high 2 bits, int8 scales, f16 d
    {ND_DTYPE_Q8_K, "Q8_K", 256, 4 + 256 + 32},     // f32 d, 256 x int8, 16 x int16 block sums
}};

constexpr bool table_matches_enum() {
    for (std::size_t i = 0; i < kDtypes.size(); ++i) {
        if (static_cast<std::size_t>(kDtypes[i].dtype) != i) {
            return false;
        }
    }
    return true;
}
static_assert(table_matches_enum(), "kDtypes must list every nd_dtype in enum order");

const DtypeInfo* find(nd_dtype dtype) noexcept {
    const auto index = static_cast<std::size_t>(dtype);
    return index < kDtypes.size() ? &kDtypes[index] : nullptr;
}

} // namespace

std::size_t dtype_size(nd_dtype dtype) noexcept {
    const DtypeInfo* info = find(dtype);
    return info != nullptr && info->block_elements == 1 ? info->block_bytes : 0;
}

std::size_t dtype_block_elements(nd_dtype dtype) noexcept {
    const DtypeInfo* info = find(dtype);
    return info != nullptr ? info->block_elements : 0;
}

std::size_t dtype_block_bytes(nd_dtype dtype) noexcept {
    const DtypeInfo* info = find(dtype);
    return info != nullptr ? info->block_bytes : 0;
}

bool dtype_is_quantized(nd_dtype dtype) noexcept {
    return dtype_block_elements(dtype) > 1;
}

std::uint64_t dtype_row_bytes(nd_dtype dtype, std::uint64_t elements) {
    const DtypeInfo* info = find(dtype);
    if (info == nullptr) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "unknown dtype {}", static_cast<int>(dtype));
    }
    if (elements % info->block_elements != 0) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a row of {} elements is not a whole number of {} blocks of {}",
                    elements, info->name, info->block_elements);
    }
    const std::uint64_t blocks = elements / info->block_elements;
    if (blocks > std::numeric_limits<std::uint64_t>::max() / info->block_bytes) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a row of {} {} elements overflows 64 bits", elements, info->name);
    }
    return blocks * info->block_bytes;
}

const char* dtype_name(nd_dtype dtype) noexcept {
    const DtypeInfo* info = find(dtype);
    return info != nullptr ? info->name : "?";
}

std::optional<nd_dtype> dtype_from_name(std::string_view name) noexcept {
    for (const DtypeInfo& info : kDtypes) {
        if (info.block_elements == 1 && name == info.name) {
            return info.dtype;
        }
    }
    return std::nullopt;
}

std::string known_dtype_names() {
    std::string names;
    for (const DtypeInfo& info : kDtypes) {
        if (info.block_elements != 1) {
            continue;
        }
        if (!names.empty()) {
            names += ' ';
        }
        names += info.name;
    }
    return names;
}

} // namespace nd::core
