#include "model_files/diffusers_names.hpp"

#include <gtest/gtest.h>

namespace nd::model_files {
namespace {

// SD 1.x: 2 resnets per down block, up blocks 1..3 with attentions (diffusers numbering).
UnetNameLayout sd1_layout() {
    return UnetNameLayout{2, {1, 2, 3}};
}

std::string unet(std::string_view name, const UnetNameLayout& layout = sd1_layout()) {
    return unet_name_to_ldm(name, layout).value_or("<none>");
}

TEST(DiffusersNames, Unet_top_level_weights_map_to_ldm_slots) {
    EXPECT_EQ(unet("conv_in.weight"), "input_blocks.0.0.weight");
    EXPECT_EQ(unet("time_embedding.linear_1.bias"), "time_embed.0.bias");
    EXPECT_EQ(unet("time_embedding.linear_2.weight"), "time_embed.2.weight");
    EXPECT_EQ(unet("conv_norm_out.weight"), "out.0.weight");
    EXPECT_EQ(unet("conv_out.bias"), "out.2.bias");
    EXPECT_EQ(unet("add_embedding.linear_1.weight"), "label_emb.0.0.weight");
    EXPECT_EQ(unet("add_embedding.linear_2.bias"), "label_emb.0.2.bias");
}

TEST(DiffusersNames, Unet_down_blocks_count_one_slot_per_resnet_plus_the_downsampler) {
    EXPECT_EQ(unet("down_blocks.0.resnets.0.norm1.weight"), "input_blocks.1.0.in_layers.0.weight");
    EXPECT_EQ(unet("down_blocks.0.resnets.1.conv1.weight"), "input_blocks.2.0.in_layers.2.weight");
    EXPECT_EQ(unet("down_blocks.1.resnets.0.time_emb_proj.bias"), "input_blocks.4.0.emb_layers.1.bias");
    EXPECT_EQ(unet("down_blocks.1.resnets.0.conv_shortcut.weight"), "input_blocks.4.0.skip_connection.weight");
    EXPECT_EQ(unet("down_blocks.2.resnets.1.norm2.bias"), "input_blocks.8.0.out_layers.0.bias");
    EXPECT_EQ(unet("down_blocks.2.resnets.1.conv2.weight"), "input_blocks.8.0.out_layers.3.weight");
    EXPECT_EQ(unet("down_blocks.0.attentions.1.proj_in.weight"), "input_blocks.2.1.proj_in.weight");
    EXPECT_EQ(unet("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
              "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight");
    EXPECT_EQ(unet("down_blocks.0.downsamplers.0.conv.weight"), "input_blocks.3.0.op.weight");
    EXPECT_EQ(unet("down_blocks.2.downsamplers.0.conv.bias"), "input_blocks.9.0.op.bias");
}

TEST(DiffusersNames, Unet_mid_block_alternates_resnet_attention_resnet) {
    EXPECT_EQ(unet("mid_block.resnets.0.conv1.bias"), "middle_block.0.in_layers.2.bias");
    EXPECT_EQ(unet("mid_block.attentions.0.norm.weight"), "middle_block.1.norm.weight");
    EXPECT_EQ(unet("mid_block.resnets.1.conv2.weight"), "middle_block.2.out_layers.3.weight");
}

TEST(DiffusersNames, Unet_upsampler_slot_depends_on_attentions_in_its_block) {
    EXPECT_EQ(unet("up_blocks.0.resnets.2.conv1.weight"), "output_blocks.2.0.in_layers.2.weight");
    EXPECT_EQ(unet("up_blocks.0.upsamplers.0.conv.weight"), "output_blocks.2.1.conv.weight");
    EXPECT_EQ(unet("up_blocks.1.attentions.2.proj_out.bias"), "output_blocks.5.1.proj_out.bias");
    EXPECT_EQ(unet("up_blocks.1.upsamplers.0.conv.weight"), "output_blocks.5.2.conv.weight");
    EXPECT_EQ(unet("up_blocks.3.resnets.0.conv_shortcut.weight"), "output_blocks.9.0.skip_connection.weight");
}

TEST(DiffusersNames, Unet_layers_per_block_changes_the_arithmetic) {
    const UnetNameLayout three{3, {0}};
    EXPECT_EQ(unet("down_blocks.1.resnets.2.conv1.weight", three), "input_blocks.7.0.in_layers.2.weight");
    EXPECT_EQ(unet("down_blocks.0.downsamplers.0.conv.weight", three), "input_blocks.4.0.op.weight");
    EXPECT_EQ(unet("up_blocks.0.upsamplers.0.conv.weight", three), "output_blocks.3.2.conv.weight");
}

TEST(DiffusersNames, Unknown_or_out_of_range_unet_names_are_not_translated) {
    EXPECT_FALSE(unet_name_to_ldm("class_embedding.linear_1.weight", sd1_layout()));
    EXPECT_FALSE(unet_name_to_ldm("down_blocks.0.resnets.2.conv1.weight", sd1_layout()));
    EXPECT_FALSE(unet_name_to_ldm("down_blocks.x.resnets.0.conv1.weight", sd1_layout()));
    EXPECT_FALSE(unet_name_to_ldm("mid_block.resnets.2.conv1.weight", sd1_layout()));
    EXPECT_FALSE(unet_name_to_ldm("down_blocks.0.resnets.0.mystery.weight", sd1_layout()));
}

TEST(DiffusersNames, Layout_is_read_from_the_names) {
    const UnetNameLayout layout = unet_name_layout({"down_blocks.0.resnets.0.conv1.weight",
                                                    "down_blocks.0.resnets.2.conv1.weight",
                                                    "up_blocks.2.attentions.0.norm.weight", "conv_in.weight"});
    EXPECT_EQ(layout.layers_per_block, 3);
    ASSERT_EQ(layout.up_blocks_with_attention.size(), 1u);
    EXPECT_EQ(layout.up_blocks_with_attention[0], 2);
}

std::string vae(std::string_view name) {
    return vae_name_to_ldm(name, 4).value_or("<none>");
}

TEST(DiffusersNames, Vae_decoder_levels_are_counted_from_the_other_end) {
    EXPECT_EQ(vae("decoder.up_blocks.0.resnets.1.norm1.weight"), "decoder.up.3.block.1.norm1.weight");
    EXPECT_EQ(vae("decoder.up_blocks.3.resnets.0.conv2.bias"), "decoder.up.0.block.0.conv2.bias");
    EXPECT_EQ(vae("decoder.up_blocks.2.resnets.0.conv_shortcut.weight"), "decoder.up.1.block.0.nin_shortcut.weight");
    EXPECT_EQ(vae("decoder.up_blocks.1.upsamplers.0.conv.weight"), "decoder.up.2.upsample.conv.weight");
    EXPECT_EQ(vae("encoder.down_blocks.1.resnets.0.conv1.weight"), "encoder.down.1.block.0.conv1.weight");
    EXPECT_EQ(vae("encoder.down_blocks.0.downsamplers.0.conv.bias"), "encoder.down.0.downsample.conv.bias");
}

TEST(DiffusersNames, Vae_mid_block_and_both_attention_namings) {
    EXPECT_EQ(vae("encoder.mid_block.resnets.1.norm2.weight"), "encoder.mid.block_2.norm2.weight");
    EXPECT_EQ(vae("decoder.mid_block.attentions.0.group_norm.bias"), "decoder.mid.attn_1.norm.bias");
    EXPECT_EQ(vae("decoder.mid_block.attentions.0.to_out.0.weight"), "decoder.mid.attn_1.proj_out.weight");
    EXPECT_EQ(vae("decoder.mid_block.attentions.0.query.weight"), "decoder.mid.attn_1.q.weight");
    EXPECT_EQ(vae("decoder.mid_block.attentions.0.proj_attn.bias"), "decoder.mid.attn_1.proj_out.bias");
    EXPECT_EQ(vae("encoder.conv_norm_out.weight"), "encoder.norm_out.weight");
    EXPECT_EQ(vae("post_quant_conv.weight"), "post_quant_conv.weight");
    EXPECT_FALSE(vae_name_to_ldm("decoder.up_blocks.4.resnets.0.conv1.weight", 4));
    EXPECT_FALSE(vae_name_to_ldm("discriminator.conv.weight", 4));
}

TEST(DiffusersNames, Only_mid_attention_projection_weights_need_the_conv_shape) {
    EXPECT_TRUE(vae_weight_needs_conv_shape("decoder.mid.attn_1.q.weight"));
    EXPECT_TRUE(vae_weight_needs_conv_shape("encoder.mid.attn_1.proj_out.weight"));
    EXPECT_FALSE(vae_weight_needs_conv_shape("decoder.mid.attn_1.q.bias"));
    EXPECT_FALSE(vae_weight_needs_conv_shape("decoder.mid.attn_1.norm.weight"));
}

} // namespace
} // namespace nd::model_files
