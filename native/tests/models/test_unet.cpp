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
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
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
    try {
        (void)models::build_unet_graph(a, weights, {2, 8, 12, 77});
        FAIL() << "a missing weight was not noticed";
    } catch (const core::Error& error) {
        const std::string message(error.message());
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(message.find("transformer block 'output_blocks.3.1.transformer_blocks.0'"), std::string::npos)
            << message;
        EXPECT_NE(message.find("'model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn2.to_v.weight'"),
                  std::string::npos)
            << message;
    }
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

// A UNet of another shape than the fixture's, written in the LDM layout from a description: two levels
// (x1, x3), one res block each, a depth-2 transformer on the first level only, linear projections (SD 2.x
// style), context width 48. Random F32 weights; what it proves is that nothing depends on the fixture's sizes.
struct SyntheticUNet {
    std::int64_t channels = 32;
    std::vector<std::int64_t> mult{1, 3};
    int res_blocks = 1;
    std::vector<int> depth{2, 0};
    std::int64_t context = 48;
    bool linear = true;
};

class SyntheticWeights {
public:
    void add(const std::string& name, const core::Shape& shape) {
        std::vector<float> v(static_cast<std::size_t>(shape.elements()));
        const float bound = shape.rank == 1 ? 0.1f : 1.0f / std::sqrt(static_cast<float>(shape.elements() / shape[0]));
        for (float& x : v) {
            state_ = state_ * 1664525u + 1013904223u;
            x = bound * (static_cast<float>(state_ >> 8) / 8388608.0f - 1.0f);
        }
        if (shape.rank == 1 && name.find("norm") != std::string::npos && name.ends_with(".weight")) {
            for (float& x : v) {
                x += 1.0f;
            }
        }
        set.add(std::string(models::kUNetPrefix) + name, core::Tensor::from_f32(shape, v));
    }
    void conv(const std::string& name, std::int64_t out, std::int64_t in, std::int64_t k) {
        add(name + ".weight", core::Shape{out, in, k, k});
        add(name + ".bias", core::Shape{out});
    }
    void norm(const std::string& name, std::int64_t c) {
        add(name + ".weight", core::Shape{c});
        add(name + ".bias", core::Shape{c});
    }
    void linear(const std::string& name, std::int64_t out, std::int64_t in, bool bias = true) {
        add(name + ".weight", core::Shape{out, in});
        if (bias) {
            add(name + ".bias", core::Shape{out});
        }
    }
    void resblock(const std::string& p, std::int64_t in, std::int64_t out, std::int64_t time_dim) {
        norm(p + ".in_layers.0", in);
        conv(p + ".in_layers.2", out, in, 3);
        linear(p + ".emb_layers.1", out, time_dim);
        norm(p + ".out_layers.0", out);
        conv(p + ".out_layers.3", out, out, 3);
        if (in != out) {
            conv(p + ".skip_connection", out, in, 1);
        }
    }
    void transformer(const std::string& p, std::int64_t c, int depth, std::int64_t context, bool linear_proj) {
        norm(p + ".norm", c);
        for (const char* proj : {".proj_in", ".proj_out"}) {
            if (linear_proj) {
                linear(p + proj, c, c);
            } else {
                conv(p + proj, c, c, 1);
            }
        }
        for (int d = 0; d < depth; ++d) {
            const std::string b = p + ".transformer_blocks." + std::to_string(d);
            for (const char* n : {".norm1", ".norm2", ".norm3"}) {
                norm(b + n, c);
            }
            for (const auto& [attn, kv] : {std::pair{".attn1", c}, std::pair{".attn2", context}}) {
                linear(b + attn + ".to_q", c, c, false);
                linear(b + attn + ".to_k", c, kv, false);
                linear(b + attn + ".to_v", c, kv, false);
                linear(b + attn + ".to_out.0", c, c);
            }
            linear(b + ".ff.net.0.proj", 8 * c, c);
            linear(b + ".ff.net.2", c, 4 * c);
        }
    }

    model_files::WeightSet set;

private:
    std::uint32_t state_ = 12345u;
};

model_files::WeightSet synthetic_unet_weights(const SyntheticUNet& u) {
    SyntheticWeights w;
    const std::int64_t time_dim = 4 * u.channels;
    w.linear("time_embed.0", time_dim, u.channels);
    w.linear("time_embed.2", time_dim, time_dim);
    w.conv("input_blocks.0.0", u.channels, 4, 3);
    std::vector<std::int64_t> skips{u.channels};
    std::int64_t ch = u.channels;
    int block = 1;
    for (std::size_t level = 0; level < u.mult.size(); ++level) {
        for (int r = 0; r < u.res_blocks; ++r, ++block) {
            const std::string p = "input_blocks." + std::to_string(block);
            w.resblock(p + ".0", ch, u.mult[level] * u.channels, time_dim);
            ch = u.mult[level] * u.channels;
            if (u.depth[level] > 0) {
                w.transformer(p + ".1", ch, u.depth[level], u.context, u.linear);
            }
            skips.push_back(ch);
        }
        if (level + 1 < u.mult.size()) {
            w.conv("input_blocks." + std::to_string(block++) + ".0.op", ch, ch, 3);
            skips.push_back(ch);
        }
    }
    w.resblock("middle_block.0", ch, ch, time_dim);
    w.transformer("middle_block.1", ch, 1, u.context, u.linear);
    w.resblock("middle_block.2", ch, ch, time_dim);
    block = 0;
    for (std::size_t level = u.mult.size(); level-- > 0;) {
        for (int r = 0; r <= u.res_blocks; ++r, ++block) {
            const std::string p = "output_blocks." + std::to_string(block);
            const std::int64_t skip = skips.back();
            skips.pop_back();
            w.resblock(p + ".0", ch + skip, u.mult[level] * u.channels, time_dim);
            ch = u.mult[level] * u.channels;
            int layer = 1;
            if (u.depth[level] > 0) {
                w.transformer(p + "." + std::to_string(layer++), ch, u.depth[level], u.context, u.linear);
            }
            if (level > 0 && r == u.res_blocks) {
                w.conv(p + "." + std::to_string(layer) + ".conv", ch, ch, 3);
            }
        }
    }
    w.norm("out.0", ch);
    w.conv("out.2", 4, ch, 3);
    return std::move(w.set);
}

TEST(UNet, A_unet_of_other_widths_and_depths_is_read_and_runs_at_an_odd_size) {
    const auto weights = synthetic_unet_weights({});
    const auto a = models::infer_unet_architecture(weights);
    EXPECT_EQ(a.describe(), "in 4, out 4, channels 32 x [1, 3], 1 res blocks, transformer depth [2, 0], context 48, "
                            "linear projections");
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{1, {}});
    models::UNetOptions options;
    options.head_channels = 16; // SD 2.x's rule, at this model's scale
    models::UNet unet(weights, backend, options);
    const core::Tensor x = core::Tensor::from_f32(core::Shape{1, 4, 5, 7}, std::vector<float>(140, 0.5f));
    const core::Tensor context = core::Tensor::from_f32(core::Shape{1, 10, 48}, std::vector<float>(480, -0.25f));
    const core::Tensor eps = unet.eps(x, 321.0f, context);
    EXPECT_EQ(eps.shape().to_string(), "[1, 4, 5, 7]");
    const std::vector<float> values = eps.to_f32();
    EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }));
    // The timestep and the context both reach the output.
    const core::Tensor other_t = unet.eps(x, 900.0f, context);
    EXPECT_GT(max_abs_error(other_t, eps), 1e-4f);
    const core::Tensor other_context =
        unet.eps(x, 321.0f, core::Tensor::from_f32(core::Shape{1, 10, 48}, std::vector<float>(480, 0.75f)));
    EXPECT_GT(max_abs_error(other_context, eps), 1e-4f);
}

TEST(UNet, Linear_projections_compute_what_1x1_convolutions_do) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    ND_SKIP_IF_FIXTURE_MISSING(tiny_reference());
    // SD 2.x stores proj_in/proj_out as [C, C] matrices where SD 1.x has [C, C, 1, 1] kernels.
    auto weights = model_files::load_safetensors_weights(tiny_model().string());
    int replaced = 0;
    for (const std::string& name : weights.names_with_prefix(std::string(models::kUNetPrefix))) {
        if ((name.ends_with(".proj_in.weight") || name.ends_with(".proj_out.weight")) && weights.require(name).rank() == 4) {
            const core::Tensor kernel = weights.require(name);
            weights.replace(name, kernel.reshape(core::Shape{kernel.dim(0), kernel.dim(1)}));
            ++replaced;
        }
    }
    EXPECT_EQ(replaced, 32); // 16 transformers, proj_in and proj_out each
    const auto reference = model_files::load_safetensors_weights(tiny_reference().string());
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{2, {}});
    models::UNet unet(std::move(weights), backend);
    EXPECT_TRUE(unet.architecture().linear_projection);
    const core::Tensor eps = unet.eps(reference.require("sd1.unet.x"), 500.0f, reference.require("sd1.unet.context"));
    EXPECT_LE(max_abs_error(eps, reference.require("sd1.unet.eps_t500")), 1e-3f);
}

// Every linear and convolution weight whose rows are whole Q8_0 blocks, quantized as a GGUF file stores it
// (convolution kernels as rows [O, C*kh*kw]); the stem (rows of 36) and 1-D tensors stay F16.
model_files::WeightSet quantized_q8_0(model_files::WeightSet weights) {
    int quantized = 0;
    for (const std::string& name : weights.names_with_prefix(std::string(models::kUNetPrefix))) {
        const core::Tensor t = weights.require(name);
        if (t.rank() < 2) {
            continue;
        }
        const std::int64_t rows = t.dim(0);
        const std::int64_t k = t.elements() / rows;
        if (k % 32 != 0) {
            continue;
        }
        const std::vector<float> values = t.to_f32();
        const auto row_bytes = core::dtype_row_bytes(ND_DTYPE_Q8_0, static_cast<std::uint64_t>(k));
        std::vector<std::byte> bytes(static_cast<std::size_t>(row_bytes * static_cast<std::uint64_t>(rows)));
        for (std::int64_t r = 0; r < rows; ++r) {
            backends::cpu::quant::quantize_row(
                ND_DTYPE_Q8_0, std::span(values.data() + r * k, static_cast<std::size_t>(k)),
                std::span(bytes.data() + static_cast<std::size_t>(r) * row_bytes, row_bytes));
        }
        weights.replace(name, core::Tensor::copy_of(ND_DTYPE_Q8_0, core::Shape{rows, k}, bytes));
        ++quantized;
    }
    EXPECT_GT(quantized, 200);
    return weights;
}

TEST(UNet, Q8_0_weights_run_through_the_same_graph_close_to_the_float_reference) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    ND_SKIP_IF_FIXTURE_MISSING(tiny_reference());
    const auto reference = model_files::load_safetensors_weights(tiny_reference().string());
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{2, {}});
    models::UNet unet(quantized_q8_0(model_files::load_safetensors_weights(tiny_model().string())), backend);
    const core::Tensor eps = unet.eps(reference.require("sd1.unet.x"), 500.0f, reference.require("sd1.unet.context"));
    const float error = max_abs_error(eps, reference.require("sd1.unet.eps_t500"));
    std::printf("[          ] Q8_0 weights: max abs error %.3g against the float reference\n",
                static_cast<double>(error));
    // Not the float tolerance: Q8_0 rounds every weight to 1/127 of its block's largest and the activations
    // to 8 bits in the integer dot products. On this random-weight model the weight rounding alone (the same
    // Q8_0 weights dequantized to F32) moves eps by 0.019 and the whole Q8 path by 0.033; a weight read
    // wrongly (a transposed row, a missing scale) gives errors of order 1.
    EXPECT_LE(error, 0.05f);
    EXPECT_GT(error, 1e-5f); // the quantized weights were used, not some float copy
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
