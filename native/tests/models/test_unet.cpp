// The UNet against diffusers' eps on the tiny SD 1.x fixture, its architecture read from names and shapes,
// the errors a broken file gets, and the activation plan of a full-size SD 1.5 UNet.
#include "models/unet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "formats/json.hpp"
#include "model_files/safetensors_weights.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace nd;

std::filesystem::path tiny_model() { return nd::testing::fixtures_dir() / "tiny-sd1" / "model.safetensors"; }
std::filesystem::path tiny_reference() { return nd::testing::fixtures_dir() / "tiny-sd1" / "reference.safetensors"; }
std::filesystem::path sd15_shapes() { return nd::testing::fixtures_dir() / "sd15_original_tensor_shapes.json"; }

float max_abs_error(const core::Tensor& actual, const core::Tensor& expected) {
    EXPECT_EQ(actual.shape().to_string(), expected.shape().to_string());
    const std::vector<float> a = actual.to_f32();
    const std::vector<float> e = expected.to_f32();
    float worst = 0.0f;
    for (std::size_t i = 0; i < std::min(a.size(), e.size()); ++i) {
        worst = std::max(worst, std::isfinite(a[i]) ? std::fabs(a[i] - e[i]) : INFINITY);
    }
    return worst;
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const core::Error& error) {
        return std::string(error.message());
    }
    return "(no error)";
}

TEST(UNet, Architecture_of_the_tiny_model_is_read_from_names_and_shapes) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const auto a = models::infer_unet_architecture(model_files::load_safetensors_weights(tiny_model().string()));
    EXPECT_EQ(a.describe(), "in 4, out 4, channels 32 x [1, 2, 2, 2], 2 res blocks, transformer depth [1, 1, 1, 0], "
                            "context 128");
    EXPECT_EQ(a.time_embed_dim, 128);
    EXPECT_EQ(a.input_blocks.size(), 12u);
    EXPECT_EQ(a.output_blocks.size(), 12u);
    ASSERT_EQ(a.middle_block.layers.size(), 3u);
    EXPECT_EQ(a.middle_block.layers[1].kind, models::UNetLayerKind::Transformer);
    EXPECT_EQ(a.middle_block.layers[1].ff_inner, 256); // 4 x 64 channels
    EXPECT_FALSE(a.linear_projection);
}

TEST(UNet, Eps_matches_diffusers_at_96x64_for_timesteps_999_500_1) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    ND_SKIP_IF_FIXTURE_MISSING(tiny_reference());
    const auto reference = model_files::load_safetensors_weights(tiny_reference().string());
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{2, {}});
    models::UNet unet(model_files::load_safetensors_weights(tiny_model().string()), backend);
    const core::Tensor& x = reference.require("sd1.unet.x");
    const core::Tensor& context = reference.require("sd1.unet.context");
    for (const int t : {999, 500, 1}) {
        const core::Tensor eps = unet.eps(x, static_cast<float>(t), context);
        const float error = max_abs_error(eps, reference.require("sd1.unet.eps_t" + std::to_string(t)));
        std::printf("[          ] t=%d max abs error %.3g\n", t, static_cast<double>(error));
        EXPECT_LE(error, 1e-3f) << "t=" << t;
    }
}

TEST(UNet, Batch_entries_with_different_timesteps_match_single_timestep_runs) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    ND_SKIP_IF_FIXTURE_MISSING(tiny_reference());
    const auto reference = model_files::load_safetensors_weights(tiny_reference().string());
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{2, {}});
    models::UNet unet(model_files::load_safetensors_weights(tiny_model().string()), backend);
    const std::vector<float> t{999.0f, 1.0f};
    const core::Tensor eps = unet.eps(reference.require("sd1.unet.x"), core::Tensor::from_f32(core::Shape{2}, t),
                                      reference.require("sd1.unet.context"));
    EXPECT_LE(max_abs_error(eps.narrow(0, 0, 1), reference.require("sd1.unet.eps_t999").narrow(0, 0, 1)), 1e-3f);
    EXPECT_LE(max_abs_error(eps.narrow(0, 1, 1), reference.require("sd1.unet.eps_t1").narrow(0, 1, 1)), 1e-3f);
}

TEST(UNet, Missing_weight_is_named_with_the_layer_that_needs_it) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    auto weights = model_files::load_safetensors_weights(tiny_model().string());
    ASSERT_TRUE(weights.erase("model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn2.to_v.weight"));
    const auto a = models::infer_unet_architecture(weights);
    const std::string message = error_of([&] { (void)models::build_unet_graph(a, weights, {2, 8, 12, 77}); });
    EXPECT_NE(message.find("'model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn2.to_v.weight'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("output_blocks.3.1.transformer_blocks.0"), message.find("'model.")) << message;
    EXPECT_NE(message.find("transformer block 'output_blocks.3.1.transformer_blocks.0'"), std::string::npos)
        << message;
}

TEST(UNet, Mis_shaped_weight_is_named_with_both_shapes_and_the_node) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    auto weights = model_files::load_safetensors_weights(tiny_model().string());
    weights.replace("model.diffusion_model.input_blocks.4.0.emb_layers.1.weight",
                    core::Tensor::empty(ND_DTYPE_F16, core::Shape{64, 64}));
    const auto a = models::infer_unet_architecture(weights);
    try {
        (void)models::build_unet_graph(a, weights, {2, 8, 12, 77});
        FAIL() << "a mis-shaped weight was accepted";
    } catch (const core::Error& error) {
        const std::string message(error.message());
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(message.find("resblock 'input_blocks.4.0'"), std::string::npos) << message;
        EXPECT_NE(message.find("'model.diffusion_model.input_blocks.4.0.emb_layers.1.weight'"), std::string::npos)
            << message;
        EXPECT_NE(message.find("[64, 128]"), std::string::npos) << message;
        EXPECT_NE(message.find("[64, 64]"), std::string::npos) << message;
    }
}

TEST(UNet, A_layer_of_no_known_kind_is_refused_by_name) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    auto weights = model_files::load_safetensors_weights(tiny_model().string());
    ASSERT_TRUE(weights.erase("model.diffusion_model.input_blocks.6.0.op.weight"));
    const std::string message = error_of([&] { (void)models::infer_unet_architecture(weights); });
    EXPECT_NE(message.find("'input_blocks.6.0' is of no known kind"), std::string::npos) << message;
}

TEST(UNet, Inputs_that_do_not_fit_the_model_are_refused) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{1, {}});
    models::UNet unet(model_files::load_safetensors_weights(tiny_model().string()), backend);
    const core::Tensor x = core::Tensor::empty(ND_DTYPE_F32, core::Shape{2, 4, 8, 8});
    const core::Tensor wide_context = core::Tensor::empty(ND_DTYPE_F32, core::Shape{2, 77, 768});
    const std::string message = error_of([&] { (void)unet.eps(x, 1.0f, wide_context); });
    EXPECT_NE(message.find("context must be F32 [2, tokens, 128]"), std::string::npos) << message;
}

// Full-size SD 1.5 (shapes from the real checkpoint), planned but never run: every weight views one shared
// block of zeros as large as the largest tensor, so the test needs ~30 MB, not 1.7 GB.
model_files::WeightSet sd15_unet_weights_sharing_one_block() {
    const auto text = [] {
        std::FILE* f = std::fopen(sd15_shapes().c_str(), "rb");
        std::string s;
        char buffer[65536];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) {
            s.append(buffer, n);
        }
        std::fclose(f);
        return s;
    }();
    const formats::JsonValue root = formats::parse_json(text);
    std::vector<std::pair<std::string, core::Shape>> shapes;
    std::uint64_t largest = 0;
    for (const formats::JsonMember& member : root.as_object()) {
        const std::string& name = member.key;
        if (name.rfind(models::kUNetPrefix, 0) != 0) {
            continue;
        }
        std::vector<std::int64_t> dims;
        for (const formats::JsonValue& e : member.value.as_array()) {
            dims.push_back(e.as_number().int64.value_or(-1));
        }
        const core::Shape shape = core::Shape::of(dims);
        largest = std::max(largest, core::packed_bytes(ND_DTYPE_F16, shape));
        shapes.emplace_back(name, shape);
    }
    const auto block = core::Storage::allocate(largest);
    model_files::WeightSet weights;
    for (const auto& [name, shape] : shapes) {
        weights.add(name, core::Tensor(block, core::Layout::packed(ND_DTYPE_F16, shape)));
    }
    return weights;
}

TEST(UNet, Full_size_sd15_at_64x64_batch_2_plans_within_its_activation_bound) {
    ND_SKIP_IF_FIXTURE_MISSING(sd15_shapes());
    const auto weights = sd15_unet_weights_sharing_one_block();
    const auto a = models::infer_unet_architecture(weights);
    EXPECT_EQ(a.describe(), "in 4, out 4, channels 320 x [1, 2, 4, 4], 2 res blocks, transformer depth [1, 1, 1, 0], "
                            "context 768");
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{2, {}});
    const core::Plan plan = backends::plan_for(models::build_unet_graph(a, weights, {2, 64, 64, 77}), backend);
    const double mib = 1024.0 * 1024.0;
    std::printf("[          ] plan peak %.1f MiB (lower bound %.1f MiB, unshared %.1f MiB), %zu steps\n",
                static_cast<double>(plan.peak_bytes()) / mib, static_cast<double>(plan.lower_bound_bytes()) / mib,
                static_cast<double>(plan.total_bytes()) / mib, plan.steps().size());
    // The most memory is live in a level-0 feed-forward: its GEGLU projection [2, 4096, 2560] F32 (80 MiB)
    // and output [2, 4096, 1280] (40 MiB) beside the residual stream [2, 4096, 320] (10 MiB) and the skips
    // kept for the way up (three [2, 320, 64, 64] maps and the smaller levels', ~50 MiB): ~180 MiB. Far under
    // the ~500 MiB that the 2.5 GB budget leaves beside 2 GB of weights.
    EXPECT_LE(plan.peak_bytes(), 192.0 * mib);
    EXPECT_LE(static_cast<double>(plan.peak_bytes()), 1.25 * static_cast<double>(plan.lower_bound_bytes()));
}

} // namespace
