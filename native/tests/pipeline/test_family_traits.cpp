#include "pipeline/family_traits.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace nd::pipeline {
namespace {

TEST(FamilyTraits, Sd1_uses_the_last_clip_layer_eight_heads_and_eos_padding) {
    const FamilyTraits t = family_traits(model_files::ModelFamily::Sd1);
    EXPECT_EQ(t.naming, TextEncoderNaming::HuggingFace);
    EXPECT_EQ(t.default_clip_skip, 1);
    EXPECT_EQ(t.pad_id, -1);
    EXPECT_EQ(t.unet.heads, 8);
    EXPECT_EQ(t.unet.head_channels, 0);
    EXPECT_FLOAT_EQ(t.vae_scaling_factor, 0.18215f);
}

TEST(FamilyTraits, Sd2_uses_open_clip_penultimate_layer_and_64_channel_heads) {
    const FamilyTraits t = family_traits(model_files::ModelFamily::Sd2);
    EXPECT_EQ(t.naming, TextEncoderNaming::OpenClip);
    EXPECT_EQ(t.default_clip_skip, 2);
    EXPECT_EQ(t.pad_id, 0);
    EXPECT_EQ(t.unet.head_channels, 64);
}

TEST(FamilyTraits, Sdxl_is_refused_as_unsupported_naming_the_family) {
    for (const auto family : {model_files::ModelFamily::SdxlBase, model_files::ModelFamily::SdxlRefiner}) {
        try {
            (void)family_traits(family);
            FAIL() << "no error";
        } catch (const core::Error& error) {
            EXPECT_EQ(error.status(), ND_STATUS_UNSUPPORTED);
            EXPECT_NE(std::string(error.message()).find(model_files::model_family_name(family)),
                      std::string::npos)
                << error.message();
        }
    }
}

} // namespace
} // namespace nd::pipeline
