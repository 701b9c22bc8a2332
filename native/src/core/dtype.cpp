#include "core/dtype.hpp"

#include <array>

namespace nd::core {

namespace {

struct DtypeInfo {
    nd_dtype dtype;
    const char* name;
    std::size_t size;
};

// Indexed by the enum value: the static_assert below keeps table and enum in step.
constexpr std::array<DtypeInfo, 15> kDtypes{{
    {ND_DTYPE_F32, "F32", 4},
    {ND_DTYPE_F16, "F16", 2},
    {ND_DTYPE_BF16, "BF16", 2},
    {ND_DTYPE_F64, "F64", 8},
    {ND_DTYPE_F8_E4M3, "F8_E4M3", 1},
    {ND_DTYPE_F8_E5M2, "F8_E5M2", 1},
    {ND_DTYPE_I8, "I8", 1},
    {ND_DTYPE_I16, "I16", 2},
    {ND_DTYPE_I32, "I32", 4},
    {ND_DTYPE_I64, "I64", 8},
    {ND_DTYPE_U8, "U8", 1},
    {ND_DTYPE_U16, "U16", 2},
    {ND_DTYPE_U32, "U32", 4},
    {ND_DTYPE_U64, "U64", 8},
    {ND_DTYPE_BOOL, "BOOL", 1},
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
    return info != nullptr ? info->size : 0;
}

const char* dtype_name(nd_dtype dtype) noexcept {
    const DtypeInfo* info = find(dtype);
    return info != nullptr ? info->name : "?";
}

std::optional<nd_dtype> dtype_from_name(std::string_view name) noexcept {
    for (const DtypeInfo& info : kDtypes) {
        if (name == info.name) {
            return info.dtype;
        }
    }
    return std::nullopt;
}

std::string known_dtype_names() {
    std::string names;
    for (const DtypeInfo& info : kDtypes) {
        if (!names.empty()) {
            names += ' ';
        }
        names += info.name;
    }
    return names;
}

} // namespace nd::core
