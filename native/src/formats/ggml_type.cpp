#include "formats/ggml_type.hpp"

#include <array>
#include <cstddef>

namespace nd::formats {

namespace {

struct GgmlType {
    std::uint32_t number;
    const char* name;
    std::optional<nd_dtype> dtype;
};

// From ggml.h (ggml-org/ggml, enum ggml_type). Retired numbers are absent.
constexpr std::array<GgmlType, 33> kGgmlTypes{{
    {0, "f32", ND_DTYPE_F32},        {1, "f16", ND_DTYPE_F16},       {2, "q4_0", ND_DTYPE_Q4_0},
    {3, "q4_1", ND_DTYPE_Q4_1},      {6, "q5_0", ND_DTYPE_Q5_0},     {7, "q5_1", ND_DTYPE_Q5_1},
    {8, "q8_0", ND_DTYPE_Q8_0},      {9, "q8_1", std::nullopt},      {10, "q2_K", ND_DTYPE_Q2_K},
    {11, "q3_K", ND_DTYPE_Q3_K},     {12, "q4_K", ND_DTYPE_Q4_K},    {13, "q5_K", ND_DTYPE_Q5_K},
    {14, "q6_K", ND_DTYPE_Q6_K},     {15, "q8_K", ND_DTYPE_Q8_K},    {16, "iq2_xxs", std::nullopt},
    {17, "iq2_xs", std::nullopt},    {18, "iq3_xxs", std::nullopt},  {19, "iq1_s", std::nullopt},
    {20, "iq4_nl", std::nullopt},    {21, "iq3_s", std::nullopt},    {22, "iq2_s", std::nullopt},
    {23, "iq4_xs", std::nullopt},    {24, "i8", ND_DTYPE_I8},        {25, "i16", ND_DTYPE_I16},
    {26, "i32", ND_DTYPE_I32},       {27, "i64", ND_DTYPE_I64},      {28, "f64", ND_DTYPE_F64},
    {29, "iq1_m", std::nullopt},     {30, "bf16", ND_DTYPE_BF16},    {34, "tq1_0", std::nullopt},
    {35, "tq2_0", std::nullopt},     {39, "mxfp4", std::nullopt},    {0xFFFFFFFF, nullptr, std::nullopt},
}};

const GgmlType* find(std::uint32_t number) noexcept {
    for (const GgmlType& type : kGgmlTypes) {
        if (type.name != nullptr && type.number == number) {
            return &type;
        }
    }
    return nullptr;
}

} // namespace

std::optional<nd_dtype> dtype_from_ggml_type(std::uint32_t ggml_type) noexcept {
    const GgmlType* type = find(ggml_type);
    return type != nullptr ? type->dtype : std::nullopt;
}

std::optional<std::uint32_t> ggml_type_from_dtype(nd_dtype dtype) noexcept {
    for (const GgmlType& type : kGgmlTypes) {
        if (type.dtype == dtype) {
            return type.number;
        }
    }
    return std::nullopt;
}

const char* ggml_type_name(std::uint32_t ggml_type) noexcept {
    const GgmlType* type = find(ggml_type);
    return type != nullptr ? type->name : nullptr;
}

} // namespace nd::formats
