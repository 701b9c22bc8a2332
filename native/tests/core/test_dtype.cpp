#include "core/dtype.hpp"

#include <gtest/gtest.h>

#include <string>

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

} // namespace
} // namespace nd::core
