#include "formats/ggml_type.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "core/dtype.hpp"

namespace nd::formats {
namespace {

struct Expected {
    nd_dtype dtype;
    std::uint32_t ggml;
    std::size_t block_elements;
    std::size_t block_bytes; // ggml's type_size, which GGUF tensor sizes are computed from
};

// From ggml.h and ggml's type traits.
constexpr Expected kExpected[] = {
    {ND_DTYPE_F32, 0, 1, 4},      {ND_DTYPE_F16, 1, 1, 2},       {ND_DTYPE_Q4_0, 2, 32, 18},
    {ND_DTYPE_Q4_1, 3, 32, 20},   {ND_DTYPE_Q5_0, 6, 32, 22},    {ND_DTYPE_Q5_1, 7, 32, 24},
    {ND_DTYPE_Q8_0, 8, 32, 34},   {ND_DTYPE_Q2_K, 10, 256, 84},  {ND_DTYPE_Q3_K, 11, 256, 110},
    {ND_DTYPE_Q4_K, 12, 256, 144}, {ND_DTYPE_Q5_K, 13, 256, 176}, {ND_DTYPE_Q6_K, 14, 256, 210},
    {ND_DTYPE_Q8_K, 15, 256, 292}, {ND_DTYPE_I8, 24, 1, 1},       {ND_DTYPE_I16, 25, 1, 2},
    {ND_DTYPE_I32, 26, 1, 4},     {ND_DTYPE_I64, 27, 1, 8},      {ND_DTYPE_F64, 28, 1, 8},
    {ND_DTYPE_BF16, 30, 1, 2},
};

TEST(GgmlType, Every_engine_dtype_with_a_ggml_type_maps_both_ways_with_ggml_block_sizes) {
    for (const Expected& expected : kExpected) {
        SCOPED_TRACE(core::dtype_name(expected.dtype));
        EXPECT_EQ(ggml_type_from_dtype(expected.dtype), expected.ggml);
        EXPECT_EQ(dtype_from_ggml_type(expected.ggml), expected.dtype);
        EXPECT_EQ(core::dtype_block_elements(expected.dtype), expected.block_elements);
        EXPECT_EQ(core::dtype_block_bytes(expected.dtype), expected.block_bytes);
        // ggml names types in lower case with a capital K: "q4_K", "bf16".
        ASSERT_NE(ggml_type_name(expected.ggml), nullptr);
        EXPECT_STRCASEEQ(ggml_type_name(expected.ggml), core::dtype_name(expected.dtype));
    }
}

TEST(GgmlType, Dtypes_without_a_ggml_type_and_unknown_numbers_map_to_nothing) {
    for (const nd_dtype dtype : {ND_DTYPE_F8_E4M3, ND_DTYPE_F8_E5M2, ND_DTYPE_U8, ND_DTYPE_U16, ND_DTYPE_U32,
                                 ND_DTYPE_U64, ND_DTYPE_BOOL}) {
        EXPECT_EQ(ggml_type_from_dtype(dtype), std::nullopt) << core::dtype_name(dtype);
    }
    for (const std::uint32_t retired : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 0xFFFFFFFFu}) {
        EXPECT_EQ(dtype_from_ggml_type(retired), std::nullopt) << retired;
        EXPECT_EQ(ggml_type_name(retired), nullptr) << retired;
    }
    // Known to ggml, absent from the engine: named, but no dtype.
    EXPECT_STREQ(ggml_type_name(9), "q8_1");
    EXPECT_STREQ(ggml_type_name(16), "iq2_xxs");
    EXPECT_EQ(dtype_from_ggml_type(9), std::nullopt);
    EXPECT_EQ(dtype_from_ggml_type(39), std::nullopt);
}

} // namespace
} // namespace nd::formats
