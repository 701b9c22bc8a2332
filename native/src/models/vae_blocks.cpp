#include "models/vae_blocks.hpp"

namespace nd::models {

namespace {

core::GroupNormParams group_norm_params(const VaeNormParams& norm, bool silu) {
    core::GroupNormParams params;
    params.groups = norm.groups;
    params.eps = norm.eps;
    params.fused_silu = silu;
    return params;
}

} // namespace

VaeResBlockWeights read_vae_res_block(const ModelWeights& weights, const std::string& name, std::int64_t in) {
    const ModelWeights w = weights.sub(name + ".");
    VaeResBlockWeights block;
    block.norm1 = w.norm("norm1", in);
    block.conv1 = w.conv("conv1", -1, in, 3);
    const std::int64_t out = block.conv1.out_channels();
    block.norm2 = w.norm("norm2", out);
    block.conv2 = w.conv("conv2", out, out, 3);
    if (w.has("nin_shortcut.weight") || in != out) {
        block.shortcut = w.conv("nin_shortcut", out, in, 1);
    }
    return block;
}

VaeAttentionWeights read_vae_attention(const ModelWeights& weights, const std::string& name,
                                       std::int64_t channels) {
    const ModelWeights w = weights.sub(name + ".");
    VaeAttentionWeights block;
    block.norm = w.norm("norm", channels);
    block.q = w.conv1x1_as_linear("q", channels, channels);
    block.k = w.conv1x1_as_linear("k", channels, channels);
    block.v = w.conv1x1_as_linear("v", channels, channels);
    block.proj_out = w.conv1x1_as_linear("proj_out", channels, channels);
    return block;
}

core::ValueId add_vae_res_block(core::Graph& graph, core::ValueId x, const VaeResBlockWeights& w,
                                const VaeNormParams& norm, const std::string& name) {
    // The shortcut goes first: a widening block's input (the largest tensor here) is then last read by
    // norm1 and dies there, instead of living through both convolutions.
    const core::ValueId skip =
        w.shortcut.defined() ? add_conv(graph, x, w.shortcut, 1, 0, name + ".nin_shortcut") : x;
    core::ValueId h = add_group_norm(graph, x, w.norm1, group_norm_params(norm, true), name + ".norm1");
    h = add_conv(graph, h, w.conv1, 1, 1, name + ".conv1");
    h = add_group_norm(graph, h, w.norm2, group_norm_params(norm, true), name + ".norm2");
    h = add_conv(graph, h, w.conv2, 1, 1, name + ".conv2");
    return graph.add(skip, h, name);
}

core::ValueId add_vae_attention(core::Graph& graph, core::ValueId x, const VaeAttentionWeights& w,
                                const VaeNormParams& norm, const std::string& name) {
    const core::Shape shape = graph.shape(x); // [N, C, H, W]
    const std::int64_t n = shape[0];
    const std::int64_t c = shape[1];
    const std::int64_t hw = shape[2] * shape[3];
    const core::ValueId h = add_group_norm(graph, x, w.norm, group_norm_params(norm, false), name + ".norm");
    // Channels last, packed once: [N, HW, C] rows feed the three projections.
    const core::ValueId tokens =
        graph.contiguous(graph.transpose(graph.reshape(h, core::Shape{n, c, hw}), 1, 2), name + ".tokens");
    auto project = [&](const LinearWeights& lw, const char* what) {
        return graph.unsqueeze(add_linear(graph, tokens, lw, name + "." + what), 1); // [N, 1, HW, C]
    };
    const core::ValueId q = project(w.q, "q");
    const core::ValueId k = project(w.k, "k");
    const core::ValueId v = project(w.v, "v");
    // One head of size C; the fused kernel never holds the HW x HW scores.
    const core::ValueId attended = graph.attention(q, k, v, core::AttentionParams{}, name);
    const core::ValueId projected =
        add_linear(graph, graph.squeeze(attended, 1), w.proj_out, name + ".proj_out"); // [N, HW, C]
    // Back to [N, C, H, W] as a view; the residual add writes the packed result.
    const core::ValueId back = graph.reshape(graph.transpose(projected, 1, 2), shape);
    return graph.add(x, back, name + ".residual");
}

} // namespace nd::models
