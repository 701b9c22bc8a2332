#include "model_files/canonical_shapes.hpp"

#include <gtest/gtest.h>

namespace nd::model_files {
namespace {

WeightSet projections(const core::Shape& shape) {
    WeightSet w;
    w.add("model.diffusion_model.input_blocks.1.1.proj_in.weight", core::Tensor::empty(ND_DTYPE_F16, shape));
    w.add("model.diffusion_model.input_blocks.1.1.proj_out.weight", core::Tensor::empty(ND_DTYPE_F16, shape));
    w.add("model.diffusion_model.input_blocks.1.1.proj_in.bias", core::Tensor::empty(ND_DTYPE_F16, {8}));
    w.add("first_stage_model.decoder.mid.attn_1.proj_out.weight", core::Tensor::empty(ND_DTYPE_F16, shape));
    return w;
}

TEST(CanonicalShapes, Sdxl_and_sd2_projections_stored_as_1x1_convolutions_become_linear_views) {
    for (ModelFamily family : {ModelFamily::Sd2, ModelFamily::SdxlBase, ModelFamily::SdxlRefiner}) {
        WeightSet w = projections({8, 8, 1, 1});
        const void* data = w.require("model.diffusion_model.input_blocks.1.1.proj_in.weight").data();
        EXPECT_EQ(canonicalize_unet_projection_shapes(w, family), 2u);
        const core::Tensor& proj_in = w.require("model.diffusion_model.input_blocks.1.1.proj_in.weight");
        EXPECT_EQ(proj_in.shape(), core::Shape({8, 8}));
        EXPECT_EQ(proj_in.data(), data);
        EXPECT_EQ(w.require("first_stage_model.decoder.mid.attn_1.proj_out.weight").rank(), 4); // VAE untouched
    }
}

TEST(CanonicalShapes, Sd1_projections_are_1x1_convolutions) {
    WeightSet linear = projections({8, 8});
    EXPECT_EQ(canonicalize_unet_projection_shapes(linear, ModelFamily::Sd1), 2u);
    EXPECT_EQ(linear.require("model.diffusion_model.input_blocks.1.1.proj_out.weight").shape(),
              core::Shape({8, 8, 1, 1}));
    WeightSet conv = projections({8, 8, 1, 1});
    EXPECT_EQ(canonicalize_unet_projection_shapes(conv, ModelFamily::Sd1), 0u);
}

} // namespace
} // namespace nd::model_files
