#include "models/clip_text_encoder.hpp"

#include <numeric>
#include <string>
#include <utility>

#include "core/error.hpp"

namespace nd::models {

namespace {

// Every CLIP text model SD uses (ViT-L/14, OpenCLIP ViT-H/14 and bigG/14) has 64 channels per head.
constexpr std::int64_t kHeadSize = 64;

std::string layer_name(int index) {
    return "encoder.layers." + std::to_string(index);
}

void check_same(const core::Tensor& tensor, const core::Shape& shape, const std::string& what) {
    if (!tensor.defined() || !(tensor.shape() == shape)) {
        core::throw_invalid_format("CLIP text encoder: {} is {} but the model expects {}", what,
                                   tensor.defined() ? tensor.shape().to_string() : std::string("missing"),
                                   shape.to_string());
    }
}

} // namespace

ClipTextEncoder ClipTextEncoder::from_hf_weights(const model_files::WeightSet& weights,
                                                 std::string_view prefix, ClipActivation activation) {
    const ModelWeights w(weights, std::string(prefix));
    ClipTextConfig config;
    config.activation = activation;

    const core::Tensor& tokens = w.get("embeddings.token_embedding.weight", 2);
    config.vocab = tokens.dim(0);
    config.width = tokens.dim(1);
    const core::Tensor& positions = w.get("embeddings.position_embedding.weight", 2);
    config.positions = positions.dim(0);
    (void)w.get("embeddings.position_embedding.weight", core::Shape{config.positions, config.width});
    if (config.width % kHeadSize != 0) {
        core::throw_invalid_format("weight '{}' gives a width of {}, not a multiple of CLIP's head size {}",
                                   w.full_name("embeddings.token_embedding.weight"), config.width, kHeadSize);
    }
    config.heads = static_cast<int>(config.width / kHeadSize);
    config.layers = w.count_indexed("encoder.layers");
    if (config.layers == 0) {
        core::throw_invalid_format("missing weight '{}': the CLIP text encoder has no layers",
                                   w.full_name("encoder.layers.0.layer_norm1.weight"));
    }
    config.mlp_width = w.get(layer_name(0) + ".mlp.fc1.weight", 2).dim(0);

    ClipTextWeights tw;
    tw.token_embedding = tokens;
    tw.position_embedding = positions;
    const std::int64_t d = config.width;
    for (int i = 0; i < config.layers; ++i) {
        const ModelWeights l = w.sub(layer_name(i) + ".");
        ClipTextLayerWeights layer;
        layer.layer_norm1 = l.norm("layer_norm1", d);
        layer.q = l.linear("self_attn.q_proj", d, d);
        layer.k = l.linear("self_attn.k_proj", d, d);
        layer.v = l.linear("self_attn.v_proj", d, d);
        layer.out = l.linear("self_attn.out_proj", d, d);
        layer.layer_norm2 = l.norm("layer_norm2", d);
        layer.fc1 = l.linear("mlp.fc1", config.mlp_width, d);
        layer.fc2 = l.linear("mlp.fc2", d, config.mlp_width);
        tw.layers.push_back(std::move(layer));
    }
    tw.final_layer_norm = w.norm("final_layer_norm", d);
    return ClipTextEncoder(config, std::move(tw));
}

ClipTextEncoder ClipTextEncoder::from_open_clip_weights(const model_files::WeightSet& weights,
                                                        std::string_view prefix, ClipActivation activation) {
    const ModelWeights w(weights, std::string(prefix));
    ClipTextConfig config;
    config.activation = activation;

    const core::Tensor& tokens = w.get("token_embedding.weight", 2);
    config.vocab = tokens.dim(0);
    config.width = tokens.dim(1);
    const core::Tensor& positions = w.get("positional_embedding", 2);
    config.positions = positions.dim(0);
    const std::int64_t d = config.width;
    (void)w.get("positional_embedding", core::Shape{config.positions, d});
    if (d % kHeadSize != 0) {
        core::throw_invalid_format("weight '{}' gives a width of {}, not a multiple of CLIP's head size {}",
                                   w.full_name("token_embedding.weight"), d, kHeadSize);
    }
    config.heads = static_cast<int>(d / kHeadSize);
    config.layers = w.count_indexed("transformer.resblocks");
    if (config.layers == 0) {
        core::throw_invalid_format("missing weight '{}': the CLIP text encoder has no layers",
                                   w.full_name("transformer.resblocks.0.ln_1.weight"));
    }
    config.mlp_width = w.get("transformer.resblocks.0.mlp.c_fc.weight", 2).dim(0);

    ClipTextWeights tw;
    tw.token_embedding = tokens;
    tw.position_embedding = positions;
    for (int i = 0; i < config.layers; ++i) {
        const ModelWeights l = w.sub("transformer.resblocks." + std::to_string(i) + ".");
        ClipTextLayerWeights layer;
        layer.layer_norm1 = l.norm("ln_1", d);
        // q, k and v are the thirds of the fused projection, in that order.
        const core::Tensor& in_w = l.get("attn.in_proj_weight", core::Shape{3 * d, d});
        const core::Tensor in_b =
            to_f32_tensor(l.get("attn.in_proj_bias", core::Shape{3 * d}), l.full_name("attn.in_proj_bias"));
        LinearWeights* parts[] = {&layer.q, &layer.k, &layer.v};
        for (std::int64_t p = 0; p < 3; ++p) {
            parts[p]->weight = in_w.narrow(0, p * d, d);
            parts[p]->bias = in_b.narrow(0, p * d, d).contiguous();
        }
        layer.out = l.linear("attn.out_proj", d, d);
        layer.layer_norm2 = l.norm("ln_2", d);
        layer.fc1 = l.linear("mlp.c_fc", config.mlp_width, d);
        layer.fc2 = l.linear("mlp.c_proj", d, config.mlp_width);
        tw.layers.push_back(std::move(layer));
    }
    tw.final_layer_norm = w.norm("ln_final", d);
    return ClipTextEncoder(config, std::move(tw));
}

ClipTextEncoder::ClipTextEncoder(const ClipTextConfig& config, ClipTextWeights weights)
    : config_(config), weights_(std::move(weights)) {
    const std::int64_t d = config_.width;
    if (config_.layers <= 0 || d <= 0 || config_.heads <= 0 || d % config_.heads != 0 ||
        config_.positions <= 0 || static_cast<int>(weights_.layers.size()) != config_.layers) {
        core::throw_invalid_format(
            "CLIP text encoder: inconsistent configuration ({} layers for {} stored, width {}, "
            "{} heads, {} positions)",
            config_.layers, weights_.layers.size(), d, config_.heads, config_.positions);
    }
    check_same(weights_.token_embedding, core::Shape{config_.vocab, d}, "the token embedding");
    check_same(weights_.position_embedding, core::Shape{config_.positions, d}, "the position embedding");
    for (int i = 0; i < config_.layers; ++i) {
        const ClipTextLayerWeights& l = weights_.layers[static_cast<std::size_t>(i)];
        const std::string at = "layer " + std::to_string(i);
        check_same(l.layer_norm1.weight, core::Shape{d}, at + " layer_norm1");
        for (const auto& [lin, what] : {std::pair{&l.q, "q_proj"}, std::pair{&l.k, "k_proj"},
                                        std::pair{&l.v, "v_proj"}, std::pair{&l.out, "out_proj"}}) {
            check_same(lin->weight, core::Shape{d, d}, at + " " + what);
        }
        check_same(l.layer_norm2.weight, core::Shape{d}, at + " layer_norm2");
        check_same(l.fc1.weight, core::Shape{config_.mlp_width, d}, at + " fc1");
        check_same(l.fc2.weight, core::Shape{d, config_.mlp_width}, at + " fc2");
    }
    check_same(weights_.final_layer_norm.weight, core::Shape{d}, "final_layer_norm");

    std::vector<std::int32_t> ids(static_cast<std::size_t>(config_.positions));
    std::iota(ids.begin(), ids.end(), 0);
    position_ids_ = core::Tensor::from_i32(core::Shape{config_.positions}, ids);
}

core::ValueId ClipTextEncoder::layer(core::Graph& graph, core::ValueId x, int index) const {
    const ClipTextLayerWeights& w = weights_.layers[static_cast<std::size_t>(index)];
    const std::string name = "text." + layer_name(index);
    const core::Shape shape = graph.shape(x); // [N, T, width]
    const std::int64_t n = shape[0];
    const std::int64_t t = shape[1];
    const std::int64_t heads = config_.heads;
    const std::int64_t head_size = config_.width / heads;

    // Self-attention: heads are views of the projections ([N, T, H, D] -> [N, H, T, D]), no copies.
    const core::ValueId h =
        add_layer_norm(graph, x, w.layer_norm1, config_.layer_norm_eps, name + ".layer_norm1");
    auto split_heads = [&](core::ValueId projected) {
        return graph.permute(graph.reshape(projected, core::Shape{n, t, heads, head_size}), {0, 2, 1, 3});
    };
    const core::ValueId q = split_heads(add_linear(graph, h, w.q, name + ".self_attn.q_proj"));
    const core::ValueId k = split_heads(add_linear(graph, h, w.k, name + ".self_attn.k_proj"));
    const core::ValueId v = split_heads(add_linear(graph, h, w.v, name + ".self_attn.v_proj"));
    core::AttentionParams attention;
    attention.causal = true;
    const core::ValueId heads_out = graph.attention(q, k, v, attention, name + ".self_attn");
    // [N, H, T, D] -> [N, T, H*D]: the merge needs a packed copy.
    const core::ValueId merged = graph.reshape(graph.contiguous(graph.permute(heads_out, {0, 2, 1, 3})),
                                               core::Shape{n, t, config_.width});
    const core::ValueId attended = add_linear(graph, merged, w.out, name + ".self_attn.out_proj");
    const core::ValueId x1 = graph.add(x, attended, name + ".attention_residual");

    // MLP.
    const core::ValueId h2 =
        add_layer_norm(graph, x1, w.layer_norm2, config_.layer_norm_eps, name + ".layer_norm2");
    core::ValueId m = add_linear(graph, h2, w.fc1, name + ".mlp.fc1");
    m = config_.activation == ClipActivation::QuickGelu
            ? graph.quick_gelu(m, name + ".mlp.act")
            : graph.gelu(m, core::GeluApproximation::Erf, name + ".mlp.act");
    m = add_linear(graph, m, w.fc2, name + ".mlp.fc2");
    return graph.add(x1, m, name + ".mlp_residual");
}

core::ValueId ClipTextEncoder::final_norm(core::Graph& graph, core::ValueId x) const {
    return add_layer_norm(graph, x, weights_.final_layer_norm, config_.layer_norm_eps,
                          "text.final_layer_norm");
}

ClipTextValues ClipTextEncoder::build(core::Graph& graph, core::ValueId ids) const {
    const core::Shape shape = graph.shape(ids);
    if (shape.rank != 2 || shape[1] < 1 || shape[1] > config_.positions) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "CLIP text encoder: token ids {} must be [prompts, tokens] with 1 to {} tokens",
                          shape.to_string(), config_.positions);
    }
    const std::int64_t t = shape[1];
    const core::ValueId table =
        graph.weight("text.embeddings.token_embedding.weight", weights_.token_embedding);
    const core::ValueId tokens = graph.embedding(table, ids, "text.embeddings.token_embedding");
    // Positions go through the embedding op too, so the table may stay in whatever dtype it is stored.
    const core::ValueId pos_table =
        graph.weight("text.embeddings.position_embedding.weight", weights_.position_embedding);
    const core::ValueId pos_ids = graph.weight("text.embeddings.position_ids", position_ids_.narrow(0, 0, t));
    const core::ValueId positions = graph.embedding(pos_table, pos_ids, "text.embeddings.position_embedding");

    ClipTextValues values;
    values.hidden_states.push_back(graph.add(tokens, positions, "text.embeddings"));
    for (int i = 0; i < config_.layers; ++i) {
        values.hidden_states.push_back(layer(graph, values.hidden_states.back(), i));
    }
    values.last_hidden_state = final_norm(graph, values.hidden_states.back());
    values.penultimate_with_final_ln =
        final_norm(graph, values.hidden_states[static_cast<std::size_t>(config_.layers - 1)]);
    return values;
}

core::ValueId ClipTextEncoder::build_output(core::Graph& graph, core::ValueId ids, int clip_skip) const {
    if (clip_skip < 1 || clip_skip > config_.layers) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "CLIP skip {} is outside [1, {}] for a {}-layer text encoder", clip_skip,
                          config_.layers, config_.layers);
    }
    const ClipTextValues values = build(graph, ids);
    return final_norm(graph, values.hidden_states[static_cast<std::size_t>(config_.layers + 1 - clip_skip)]);
}

} // namespace nd::models
