// CLIP's text transformer as a graph: what turns 77 token ids into the UNet's conditioning.
//
// Token and position embeddings, pre-LayerNorm transformer layers (causal self-attention, then an MLP),
// and a final LayerNorm. Every size comes from the weights: layers from how many are stored, width from the
// token table, heads = width / 64 (true of every CLIP text model SD uses), MLP width from fc1, positions
// from the position table.
//
// The weights are held as plain per-layer structs, so that each file naming is one reader: from_hf_weights
// reads Hugging Face CLIPTextModel names (SD 1.x's `cond_stage_model.transformer.text_model.*`, SDXL's
// first encoder); from_open_clip_weights reads OpenCLIP's (SD 2.x's `cond_stage_model.model.*`, SDXL's
// second encoder), whose fused in_proj weights become q/k/v through row views, nothing copied.
// Not yet here: SDXL's pooled output (text_projection of the end-of-text token).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/graph.hpp"
#include "model_files/weight_set.hpp"
#include "models/model_weights.hpp"

namespace nd::models {

enum class ClipActivation : std::uint8_t {
    QuickGelu, // x * sigmoid(1.702 x): OpenAI's CLIP (SD 1.x's CLIP ViT-L/14)
    Gelu,      // erf GELU: OpenCLIP (SD 2.x)
};

struct ClipTextConfig {
    int layers = 0;
    std::int64_t width = 0;
    int heads = 0;
    std::int64_t mlp_width = 0;
    std::int64_t vocab = 0;
    std::int64_t positions = 0; // the most tokens a prompt chunk may have (77)
    ClipActivation activation = ClipActivation::QuickGelu;
    float layer_norm_eps = 1e-5f;
};

struct ClipTextLayerWeights {
    NormWeights layer_norm1;
    LinearWeights q, k, v, out;
    NormWeights layer_norm2;
    LinearWeights fc1, fc2;
};

struct ClipTextWeights {
    core::Tensor token_embedding;    // [vocab, width], any dtype an embedding reads
    core::Tensor position_embedding; // [positions, width]
    std::vector<ClipTextLayerWeights> layers;
    NormWeights final_layer_norm;
};

// The values one build() adds to a graph.
struct ClipTextValues {
    // HF's hidden_states: [0] the embeddings, [i] the output of layer i (no final norm), each [N, T, width].
    std::vector<core::ValueId> hidden_states;
    core::ValueId last_hidden_state;         // final_layer_norm(hidden_states.back())
    core::ValueId penultimate_with_final_ln; // final_layer_norm(hidden_states[layers - 1]): "CLIP skip 2"
};

class ClipTextEncoder {
public:
    // SD 1.x checkpoints' prefix for the HF-named text model.
    static constexpr std::string_view kSd1Prefix = "cond_stage_model.transformer.text_model.";
    // SD 2.x checkpoints' prefix for the OpenCLIP text tower (ViT-H/14: 24 layers, width 1024, GELU).
    static constexpr std::string_view kSd2Prefix = "cond_stage_model.model.";

    // Reads HF CLIPTextModel names under `prefix` (embeddings.*, encoder.layers.N.*, final_layer_norm.*),
    // inferring every size. Throws Error(ND_STATUS_INVALID_FORMAT) naming the first missing or mis-shaped
    // tensor.
    static ClipTextEncoder from_hf_weights(const model_files::WeightSet& weights,
                                           std::string_view prefix = kSd1Prefix,
                                           ClipActivation activation = ClipActivation::QuickGelu);

    // Reads OpenCLIP names under `prefix` (token_embedding.weight, positional_embedding,
    // transformer.resblocks.N.{ln_1, attn.in_proj_weight/in_proj_bias, attn.out_proj, ln_2, mlp.c_fc,
    // mlp.c_proj}, ln_final), inferring every size. SD 2.x conditions on clip_skip 2 (its "penultimate"
    // layer).
    static ClipTextEncoder from_open_clip_weights(const model_files::WeightSet& weights,
                                                  std::string_view prefix = kSd2Prefix,
                                                  ClipActivation activation = ClipActivation::Gelu);

    // Checks the structs against each other (every layer against `config`).
    ClipTextEncoder(const ClipTextConfig& config, ClipTextWeights weights);

    [[nodiscard]] const ClipTextConfig& config() const noexcept { return config_; }
    [[nodiscard]] const ClipTextWeights& weights() const noexcept { return weights_; }

    // Adds the encoder to `graph` for `ids` (I32 or I64 [N, T], T <= positions). Nothing is marked as
    // output: the caller marks what it needs, and the planner drops the rest (asking only for the
    // penultimate layer skips the last one).
    ClipTextValues build(core::Graph& graph, core::ValueId ids) const;

    // final_layer_norm(hidden_states[layers + 1 - clip_skip]): clip_skip 1 is last_hidden_state, 2 is what
    // SD 1.x web UIs call CLIP skip 2. Throws Error(ND_STATUS_INVALID_ARGUMENT) outside [1, layers].
    core::ValueId build_output(core::Graph& graph, core::ValueId ids, int clip_skip) const;

private:
    core::ValueId layer(core::Graph& graph, core::ValueId x, int index) const;
    core::ValueId final_norm(core::Graph& graph, core::ValueId x) const;

    ClipTextConfig config_;
    ClipTextWeights weights_;
    core::Tensor position_ids_; // I32 [positions]: 0, 1, ...; the rows of the position table
};

} // namespace nd::models
