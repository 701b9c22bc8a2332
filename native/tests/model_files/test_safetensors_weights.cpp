#include "model_files/safetensors_weights.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

TEST(SafetensorsWeights, Tensors_are_borrowed_under_their_stored_names) {
    testing::TempDir dir;
    const auto path = dir.write("w.safetensors", testing::valid_safetensors({{"a.weight", "F16", {2, 3}, 2},
                                                                            {"b.bias", "F32", {3}, 4}}));
    const WeightSet w = load_safetensors_weights(path.string());
    ASSERT_EQ(w.size(), 2u);
    const core::Tensor& a = w.require("a.weight");
    EXPECT_EQ(a.dtype(), ND_DTYPE_F16);
    EXPECT_EQ(a.shape(), core::Shape({2, 3}));
    EXPECT_EQ(a.storage()->kind(), core::Storage::Kind::Borrowed);
    // The data region's bytes count up from 0 (valid_safetensors), so b starts at byte 12 of it.
    EXPECT_EQ(static_cast<int>(w.require("b.bias").data()[0]), 12);
}

TEST(SafetensorsWeights, More_than_four_dimensions_is_rejected_naming_file_and_tensor) {
    testing::TempDir dir;
    const auto path = dir.write("w.safetensors", testing::valid_safetensors({{"deep", "F32", {1, 1, 1, 1, 2}, 4}}));
    try {
        (void)load_safetensors_weights(path.string());
        FAIL() << "accepted a 5-D tensor";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(error.message().find(path.string()), std::string::npos);
        EXPECT_NE(error.message().find("'deep'"), std::string::npos);
    }
}

} // namespace
} // namespace nd::model_files
