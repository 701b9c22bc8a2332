#include "core/dtype.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace nd::core {
namespace {

struct Expected {
    nd_dtype dtype;
    const char* name;
    std::size_t size;
};

constexpr Expected kExpected[] = {
    {ND_DTYPE_F32, "F32", 4}, {ND_DTYPE_F16, "F16", 2},         {ND_DTYPE_BF16, "BF16", 2},
    {ND_DTYPE_F64, "F64", 8}, {ND_DTYPE_F8_E4M3, "F8_E4M3", 1}, {ND_DTYPE_F8_E5M2, "F8_E5M2", 1},
    {ND_DTYPE_I8, "I8", 1},   {ND_DTYPE_I16, "I16", 2},         {ND_DTYPE_I32, "I32", 4},
    {ND_DTYPE_I64, "I64", 8}, {ND_DTYPE_U8, "U8", 1},           {ND_DTYPE_U16, "U16", 2},
    {ND_DTYPE_U32, "U32", 4}, {ND_DTYPE_U64, "U64", 8},         {ND_DTYPE_BOOL, "BOOL", 1},
};

TEST(Dtype, Every_dtype_has_its_safetensors_name_and_size) {
    for (const Expected& expected : kExpected) {
        SCOPED_TRACE(expected.name);
        EXPECT_STREQ(dtype_name(expected.dtype), expected.name);
        EXPECT_EQ(dtype_size(expected.dtype), expected.size);
        EXPECT_EQ(dtype_from_name(expected.name), expected.dtype);
    }
}

TEST(Dtype, Unknown_names_are_not_found_and_case_matters) {
    EXPECT_FALSE(dtype_from_name("F17").has_value());
    EXPECT_FALSE(dtype_from_name("f32").has_value());
    EXPECT_FALSE(dtype_from_name("").has_value());
    EXPECT_FALSE(dtype_from_name("F32 ").has_value());
}

TEST(Dtype, Known_names_list_every_dtype) {
    const std::string names = known_dtype_names();
    for (const Expected& expected : kExpected) {
        EXPECT_NE(names.find(expected.name), std::string::npos) << expected.name;
    }
}

// Block sizes as GGUF files store them (ggml's published block structs); a mismatch would misread every
// quantized tensor of a real file.
struct ExpectedBlock {
    nd_dtype dtype;
    const char* name;
    std::size_t elements;
    std::size_t bytes;
};

constexpr ExpectedBlock kExpectedBlocks[] = {
    {ND_DTYPE_Q8_0, "Q8_0", 32, 34},   {ND_DTYPE_Q4_0, "Q4_0", 32, 18},   {ND_DTYPE_Q4_1, "Q4_1", 32, 20},
    {ND_DTYPE_Q5_0, "Q5_0", 32, 22},   {ND_DTYPE_Q5_1, "Q5_1", 32, 24},   {ND_DTYPE_Q2_K, "Q2_K", 256, 84},
    {ND_DTYPE_Q3_K, "Q3_K", 256, 110}, {ND_DTYPE_Q4_K, "Q4_K", 256, 144}, {ND_DTYPE_Q5_K, "Q5_K", 256, 176},
    {ND_DTYPE_Q6_K, "Q6_K", 256, 210}, {ND_DTYPE_Q8_K, "Q8_K", 256, 292},
};

TEST(Dtype, Quantized_types_have_ggml_block_sizes_and_are_not_safetensors_names) {
    for (const ExpectedBlock& expected : kExpectedBlocks) {
        SCOPED_TRACE(expected.name);
        EXPECT_STREQ(dtype_name(expected.dtype), expected.name);
        EXPECT_TRUE(dtype_is_quantized(expected.dtype));
        EXPECT_EQ(dtype_size(expected.dtype), 0u);
        EXPECT_EQ(dtype_block_elements(expected.dtype), expected.elements);
        EXPECT_EQ(dtype_block_bytes(expected.dtype), expected.bytes);
        EXPECT_EQ(dtype_row_bytes(expected.dtype, expected.elements * 3), expected.bytes * 3);
        EXPECT_FALSE(dtype_from_name(expected.name).has_value());
    }
}

TEST(Dtype, Row_bytes_of_plain_types_and_partial_blocks) {
    EXPECT_FALSE(dtype_is_quantized(ND_DTYPE_F16));
    EXPECT_EQ(dtype_row_bytes(ND_DTYPE_F16, 7), 14u);
    EXPECT_THROW((void)dtype_row_bytes(ND_DTYPE_Q4_0, 33), Error);
    EXPECT_THROW((void)dtype_row_bytes(ND_DTYPE_Q8_0, UINT64_MAX - 31), Error);
}

} // namespace
} // namespace nd::core
