#include "models/clip_text_encoder.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "model_files/safetensors_weights.hpp"
#include "models/clip_text_encoder_runner.hpp"
#include "support/quantized_weights.hpp"
#include "support/sd15_shapes.hpp"
#include "support/tiny_sd1.hpp"

namespace nd::models {
namespace {

using nd::testing::max_abs_error;

constexpr float kTolerance = 1e-3f; // the fixture README's bound for stage outputs
const std::string kPrefix(ClipTextEncoder::kSd1Prefix);

class ClipTextEncoderTest : public ::testing::Test {
protected:
    void SetUp() override {
        ND_SKIP_IF_FIXTURE_MISSING(nd::testing::tiny_sd1_model());
        ND_SKIP_IF_FIXTURE_MISSING(nd::testing::tiny_sd1_reference());
        weights_ = model_files::load_safetensors_weights(nd::testing::tiny_sd1_model().string());
        reference_ = model_files::load_safetensors_weights(nd::testing::tiny_sd1_reference().string());
    }

    backends::cpu::CpuBackend& backend() {
        static backends::cpu::CpuBackend cpu(
            backends::cpu::CpuBackendOptions{.threads = 2, .isa = std::nullopt});
        return cpu;
    }

    // The weights with `name` replaced by `tensor` (or removed when `tensor` is undefined).
    model_files::WeightSet edited(const std::string& name, const core::Tensor& tensor) const {
        model_files::WeightSet copy;
        for (const auto& [key, value] : weights_.all()) {
            if (key != name) {
                copy.add(key, value);
            } else if (tensor.defined()) {
                copy.add(key, tensor);
            }
        }
        return copy;
    }

    model_files::WeightSet weights_;
    model_files::WeightSet reference_;
};

TEST_F(ClipTextEncoderTest, Sizes_are_inferred_from_the_tensor_shapes) {
    const ClipTextEncoder encoder = ClipTextEncoder::from_hf_weights(weights_);
    const ClipTextConfig& c = encoder.config();
    EXPECT_EQ(c.layers, 3);
    EXPECT_EQ(c.width, 128);
    EXPECT_EQ(c.heads, 2);
    EXPECT_EQ(c.mlp_width, 256);
    EXPECT_EQ(c.vocab, 49408);
    EXPECT_EQ(c.positions, 77);
}

TEST_F(ClipTextEncoderTest, All_hidden_states_match_the_reference) {
    auto encoder = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(weights_));
    ClipTextEncoderRunner runner(encoder, backend());
    const core::Tensor& ids = reference_.require("sd1.te.input_ids");
    const ClipTextOutputs out = runner.encode_all(ids);

    const float last = max_abs_error(out.last_hidden_state, reference_.require("sd1.te.last_hidden_state"));
    const float penultimate =
        max_abs_error(out.penultimate_hidden_state, reference_.require("sd1.te.penultimate_hidden_state"));
    const float skip2 =
        max_abs_error(out.penultimate_with_final_ln, reference_.require("sd1.te.penultimate_with_final_ln"));
    std::printf(
        "CLIP max abs error: last_hidden_state %.3g, penultimate %.3g, penultimate_with_final_ln %.3g\n",
        static_cast<double>(last), static_cast<double>(penultimate), static_cast<double>(skip2));
    EXPECT_LE(last, kTolerance);
    EXPECT_LE(penultimate, kTolerance);
    EXPECT_LE(skip2, kTolerance);
}

TEST_F(ClipTextEncoderTest, Clip_skip_selects_the_layer_whose_output_is_normalized) {
    auto encoder = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(weights_));
    ClipTextEncoderRunner runner(encoder, backend());
    const core::Tensor& ids = reference_.require("sd1.te.input_ids");
    EXPECT_LE(max_abs_error(runner.encode(ids, 1), reference_.require("sd1.te.last_hidden_state")),
              kTolerance);
    EXPECT_LE(max_abs_error(runner.encode(ids, 2), reference_.require("sd1.te.penultimate_with_final_ln")),
              kTolerance);
    // Skip 3 differs from both (a different layer), but has the same shape.
    const core::Tensor skip3 = runner.encode(ids, 3);
    EXPECT_GT(max_abs_error(skip3, reference_.require("sd1.te.penultimate_with_final_ln")), 0.01f);
}

// What the pipeline does after encoding a prompt: the arena and the packed weights go, and the next
// encode brings them back with bitwise the same result.
TEST_F(ClipTextEncoderTest, Released_memory_comes_back_on_the_next_encode_with_the_same_result) {
    auto encoder = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(weights_));
    backends::cpu::CpuBackend cpu(backends::cpu::CpuBackendOptions{.threads = 2, .isa = std::nullopt});
    ClipTextEncoderRunner runner(encoder, cpu);
    const core::Tensor& ids = reference_.require("sd1.te.input_ids");
    const std::vector<float> first = runner.encode(ids, 1).to_f32();
    const std::size_t packed = cpu.packed_weights().size();
    EXPECT_GT(packed, 0u);
    EXPECT_GT(runner.arena_bytes(), 0u);
    runner.release_memory(false);
    EXPECT_EQ(runner.arena_bytes(), 0u);
    EXPECT_EQ(cpu.packed_weights().size(), packed);
    runner.release_memory(true);
    EXPECT_EQ(cpu.packed_weights().size(), 0u);
    EXPECT_EQ(cpu.packed_weights().bytes(), 0u);
    const std::vector<float> again = runner.encode(ids, 1).to_f32();
    EXPECT_EQ(cpu.packed_weights().size(), packed);
    ASSERT_EQ(again.size(), first.size());
    EXPECT_EQ(std::memcmp(again.data(), first.data(), first.size() * sizeof(float)), 0);
}

TEST_F(ClipTextEncoderTest, Fewer_tokens_and_one_prompt_give_the_leading_rows_of_the_full_run) {
    // Causal attention: the first 10 tokens' states do not depend on the rest.
    auto encoder = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(weights_));
    ClipTextEncoderRunner runner(encoder, backend());
    const core::Tensor ids =
        reference_.require("sd1.te.input_ids").narrow(0, 0, 1).narrow(1, 0, 10).contiguous();
    const core::Tensor out = runner.encode(ids, 1);
    const core::Tensor expected =
        reference_.require("sd1.te.last_hidden_state").narrow(0, 0, 1).narrow(1, 0, 10).contiguous();
    EXPECT_LE(max_abs_error(out, expected), kTolerance);
}

// The fixture's HF-named weights renamed the way OpenCLIP (SD 2.x) stores them, q/k/v fused into in_proj.
model_files::WeightSet as_open_clip(const model_files::WeightSet& hf, const std::string& to) {
    const auto get = [&](const std::string& name) { return hf.require(kPrefix + name); };
    model_files::WeightSet out;
    out.add(to + "token_embedding.weight", get("embeddings.token_embedding.weight"));
    out.add(to + "positional_embedding", get("embeddings.position_embedding.weight"));
    for (int i = 0;; ++i) {
        const std::string from = "encoder.layers." + std::to_string(i) + ".";
        if (!hf.contains(kPrefix + from + "layer_norm1.weight")) {
            break;
        }
        const std::string at = to + "transformer.resblocks." + std::to_string(i) + ".";
        for (const char* part : {"weight", "bias"}) {
            const std::string suffix = std::string(".") + part;
            out.add(at + "ln_1" + suffix, get(from + "layer_norm1" + suffix));
            out.add(at + "ln_2" + suffix, get(from + "layer_norm2" + suffix));
            out.add(at + "attn.out_proj" + suffix, get(from + "self_attn.out_proj" + suffix));
            out.add(at + "mlp.c_fc" + suffix, get(from + "mlp.fc1" + suffix));
            out.add(at + "mlp.c_proj" + suffix, get(from + "mlp.fc2" + suffix));
            const core::Tensor q = get(from + "self_attn.q_proj" + suffix);
            core::Shape fused = q.shape();
            fused[0] *= 3;
            const core::Tensor in_proj = core::Tensor::empty(q.dtype(), fused);
            const char* names[] = {"q_proj", "k_proj", "v_proj"};
            for (int p = 0; p < 3; ++p) {
                in_proj.narrow(0, p * q.dim(0), q.dim(0))
                    .copy_from(get(from + "self_attn." + names[p] + suffix));
            }
            out.add(at + "attn.in_proj_" + part, in_proj);
        }
    }
    out.add(to + "ln_final.weight", get("final_layer_norm.weight"));
    out.add(to + "ln_final.bias", get("final_layer_norm.bias"));
    return out;
}

TEST_F(ClipTextEncoderTest, Open_clip_names_with_fused_in_proj_give_the_same_states) {
    // The tiny model uses quick_gelu; OpenCLIP's GELU is the reader's default, so it is overridden here.
    const std::string prefix(ClipTextEncoder::kSd2Prefix);
    auto encoder = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_open_clip_weights(
        as_open_clip(weights_, prefix), prefix, ClipActivation::QuickGelu));
    EXPECT_EQ(encoder->config().layers, 3);
    EXPECT_EQ(encoder->config().heads, 2);
    ClipTextEncoderRunner runner(encoder, backend());
    const core::Tensor& ids = reference_.require("sd1.te.input_ids");
    EXPECT_LE(max_abs_error(runner.encode(ids, 1), reference_.require("sd1.te.last_hidden_state")),
              kTolerance);
    EXPECT_LE(max_abs_error(runner.encode(ids, 2), reference_.require("sd1.te.penultimate_with_final_ln")),
              kTolerance);
}

TEST_F(ClipTextEncoderTest, Open_clip_gelu_differs_from_quick_gelu) {
    // The activation matters at this tolerance: GELU on the quick_gelu model's weights misses the reference.
    const std::string prefix(ClipTextEncoder::kSd2Prefix);
    auto encoder = std::make_shared<const ClipTextEncoder>(
        ClipTextEncoder::from_open_clip_weights(as_open_clip(weights_, prefix), prefix));
    EXPECT_EQ(encoder->config().activation, ClipActivation::Gelu);
    ClipTextEncoderRunner runner(encoder, backend());
    EXPECT_GT(max_abs_error(runner.encode(reference_.require("sd1.te.input_ids"), 1),
                            reference_.require("sd1.te.last_hidden_state")),
              kTolerance);
}

TEST_F(ClipTextEncoderTest, Q8_0_weights_run_through_the_same_code) {
    // Every matrix (the linear layers and both embedding tables) as Q8_0, against a float run of the very
    // values those blocks hold: what remains is the integer kernels' rounding of activations to 8-bit
    // blocks. Not a README tolerance (the fixture has no quantized reference); a mis-wired quantized path
    // would be off by the outputs' own scale, so: within 10% of the largest output.
    const nd::testing::QuantizedWeights q = nd::testing::quantize_weights(weights_, kPrefix, ND_DTYPE_Q8_0);
    EXPECT_EQ(q.converted, 3 * 6 + 2);
    auto quantized = std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(q.quantized));
    auto dequantized =
        std::make_shared<const ClipTextEncoder>(ClipTextEncoder::from_hf_weights(q.dequantized));
    EXPECT_EQ(quantized->weights().layers[0].fc1.weight.dtype(), ND_DTYPE_Q8_0);
    ClipTextEncoderRunner quantized_runner(quantized, backend());
    ClipTextEncoderRunner float_runner(dequantized, backend());
    const core::Tensor& ids = reference_.require("sd1.te.input_ids");
    const core::Tensor expected = float_runner.encode(ids, 1);
    const float error = max_abs_error(quantized_runner.encode(ids, 1), expected);
    std::printf(
        "CLIP Q8_0 weights against their dequantized values: max abs error %.3g (largest output %.3g)\n",
        static_cast<double>(error), static_cast<double>(nd::testing::max_abs(expected)));
    EXPECT_LT(error, 0.1f * nd::testing::max_abs(expected));
}

TEST_F(ClipTextEncoderTest, Missing_weight_is_refused_naming_the_tensor) {
    const std::string name = kPrefix + "encoder.layers.1.self_attn.v_proj.bias";
    try {
        (void)ClipTextEncoder::from_hf_weights(edited(name, {}));
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(e.message().find(name), std::string_view::npos) << e.message();
    }
}

TEST_F(ClipTextEncoderTest, Mis_shaped_weight_is_refused_naming_the_tensor_and_both_shapes) {
    const std::string name = kPrefix + "encoder.layers.2.mlp.fc2.weight";
    try {
        (void)ClipTextEncoder::from_hf_weights(edited(name, core::Tensor::empty(ND_DTYPE_F16, {128, 255})));
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(e.message().find(name), std::string_view::npos) << e.message();
        EXPECT_NE(e.message().find("[128, 255]"), std::string_view::npos) << e.message();
        EXPECT_NE(e.message().find("[128, 256]"), std::string_view::npos) << e.message();
    }
}

TEST_F(ClipTextEncoderTest, Too_many_tokens_and_bad_clip_skip_are_refused) {
    const ClipTextEncoder encoder = ClipTextEncoder::from_hf_weights(weights_);
    core::Graph graph;
    const core::ValueId long_ids = graph.input("ids", ND_DTYPE_I32, {1, 78});
    EXPECT_THROW((void)encoder.build(graph, long_ids), core::Error);
    const core::ValueId ids = graph.input("ids", ND_DTYPE_I32, {1, 77});
    EXPECT_THROW((void)encoder.build_output(graph, ids, 0), core::Error);
    EXPECT_THROW((void)encoder.build_output(graph, ids, 4), core::Error);
}

TEST(ClipTextEncoderFullSize, Sd15_clip_l_sizes_are_inferred_and_its_graph_builds) {
    const auto shapes = nd::testing::fixtures_dir() / "sd15_original_tensor_shapes.json";
    ND_SKIP_IF_FIXTURE_MISSING(shapes);
    const model_files::WeightSet weights =
        nd::testing::sd15_shape_only_weights(shapes, {"cond_stage_model."});
    const ClipTextEncoder encoder = ClipTextEncoder::from_hf_weights(weights);
    const ClipTextConfig& c = encoder.config();
    EXPECT_EQ(c.layers, 12);
    EXPECT_EQ(c.width, 768);
    EXPECT_EQ(c.heads, 12);
    EXPECT_EQ(c.mlp_width, 3072);
    EXPECT_EQ(c.positions, 77);
    core::Graph graph;
    const core::ValueId out = encoder.build_output(graph, graph.input("ids", ND_DTYPE_I32, {2, 77}), 2);
    EXPECT_EQ(graph.shape(out), (core::Shape{2, 77, 768}));
}

} // namespace
} // namespace nd::models
