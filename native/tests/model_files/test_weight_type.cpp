#include "model_files/weight_type.hpp"

#include <gtest/gtest.h>

namespace nd::model_files {
namespace {

TEST(WeightType, Linear_and_conv_weights_with_whole_block_rows_convert) {
    EXPECT_EQ(choose_weight_type("model.diffusion_model.input_blocks.1.1.proj_in.weight", {320, 320}, ND_DTYPE_Q8_0),
              ND_DTYPE_Q8_0);
    // A 3x3 convolution's row is C*9 elements: 320*9 = 2880 = 90 blocks of 32.
    EXPECT_EQ(choose_weight_type("model.diffusion_model.input_blocks.1.0.in_layers.2.weight", {320, 320, 3, 3},
                                 ND_DTYPE_Q4_0),
              ND_DTYPE_Q4_0);
    EXPECT_EQ(choose_weight_type("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", {3072, 1024},
                                 ND_DTYPE_Q8_0),
              ND_DTYPE_Q8_0);
    EXPECT_EQ(choose_weight_type("x.weight", {77, 100}, ND_DTYPE_F16), ND_DTYPE_F16);
}

TEST(WeightType, Rows_that_are_not_whole_blocks_keep_their_type) {
    EXPECT_FALSE(choose_weight_type("first_stage_model.encoder.conv_in.weight", {128, 3, 3, 3}, ND_DTYPE_Q8_0));
    EXPECT_FALSE(choose_weight_type("x.weight", {1280, 320}, ND_DTYPE_Q4_K)); // 320 is not a multiple of 256
    EXPECT_EQ(choose_weight_type("x.weight", {1280, 1280}, ND_DTYPE_Q4_K), ND_DTYPE_Q4_K);
}

TEST(WeightType, Norms_biases_embeddings_and_small_tensors_keep_their_type) {
    EXPECT_FALSE(choose_weight_type("x.norm.weight", {4096}, ND_DTYPE_Q8_0));
    EXPECT_FALSE(choose_weight_type("x.proj.bias", {320, 320}, ND_DTYPE_Q8_0));
    EXPECT_FALSE(choose_weight_type("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
                                    {49408, 768}, ND_DTYPE_Q8_0));
    EXPECT_FALSE(choose_weight_type("cond_stage_model.model.positional_embedding", {77, 1024}, ND_DTYPE_Q8_0));
    EXPECT_FALSE(choose_weight_type("x.weight", {32, 32}, ND_DTYPE_Q8_0)); // under kMinConvertedElements
    EXPECT_FALSE(choose_weight_type("x.weight", {4, 64, 32}, ND_DTYPE_Q8_0)); // neither linear nor conv
}

TEST(WeightType, Only_weight_types_can_be_requested) {
    EXPECT_TRUE(is_weight_type(ND_DTYPE_Q5_K));
    EXPECT_TRUE(is_weight_type(ND_DTYPE_BF16));
    EXPECT_FALSE(is_weight_type(ND_DTYPE_Q8_K));
    EXPECT_FALSE(is_weight_type(ND_DTYPE_I64));
    EXPECT_FALSE(choose_weight_type("x.weight", {256, 256}, ND_DTYPE_Q8_K));
}

} // namespace
} // namespace nd::model_files
