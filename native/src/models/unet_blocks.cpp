#include "models/unet_blocks.hpp"

#include <string>

#include "core/error.hpp"

namespace nd::models {

namespace {

using core::ValueId;

constexpr float kResBlockNormEps = 1e-5f;
constexpr float kTransformerNormEps = 1e-6f; // the spatial transformer's GroupNorm
constexpr float kLayerNormEps = 1e-5f;

std::string node_name(const UNetLayer& layer, const char* kind) {
    return std::string(kind) + " '" + layer.name + "'";
}

ValueId conv(UNetLayerContext& c, const std::string& name, std::int64_t in, std::int64_t out, int k, int stride,
             ValueId x, const std::string& node) {
    const ConvWeights w = read_for(node, [&] { return c.weights.conv(name, out, in, k); });
    return add_conv(c.graph, x, w, stride, k / 2, name);
}

ValueId group_norm(UNetLayerContext& c, const std::string& name, std::int64_t channels, float eps, bool silu,
                   ValueId x, const std::string& node) {
    core::GroupNormParams params;
    params.groups = c.groups;
    params.eps = eps;
    params.fused_silu = silu;
    const NormWeights w = read_for(node, [&] { return c.weights.norm(name, channels); });
    return add_group_norm(c.graph, x, w, params, name);
}

ValueId layer_norm(UNetLayerContext& c, const std::string& name, std::int64_t channels, ValueId x,
                   const std::string& node) {
    const NormWeights w = read_for(node, [&] { return c.weights.norm(name, channels); });
    return add_layer_norm(c.graph, x, w, kLayerNormEps, name);
}

// A linear layer whose bias is optional (attention's q/k/v carry none in SD checkpoints).
ValueId linear(UNetLayerContext& c, const std::string& name, std::int64_t in, std::int64_t out, ValueId x,
               const std::string& node) {
    const LinearWeights w = read_for(node, [&] { return c.weights.conv1x1_as_linear(name, out, in, Bias::Optional); });
    return add_linear(c.graph, x, w, name);
}

// Multi-head attention of x [B, T, C] over kv [B, S, kv_dim]; q, k, v and the output are [B, T, C].
ValueId attention(UNetLayerContext& c, const std::string& name, std::int64_t channels, ValueId x, ValueId kv,
                  std::int64_t kv_dim, const std::string& node) {
    core::Graph& g = c.graph;
    const std::int64_t heads = c.head_channels > 0 ? channels / c.head_channels : c.heads;
    if (heads <= 0 || channels % heads != 0) {
        core::throw_invalid_format("{}: {} channels do not split into {} heads", node, channels, heads);
    }
    const std::int64_t head_dim = channels / heads;
    const core::Shape xs = g.shape(x);
    const core::Shape kvs = g.shape(kv);
    auto split_heads = [&](ValueId v, std::int64_t tokens, const char* what) {
        return g.permute(g.reshape(v, core::Shape{xs[0], tokens, heads, head_dim}), {0, 2, 1, 3},
                         name + "." + what + ".heads");
    };
    const ValueId q = split_heads(linear(c, name + ".to_q", channels, channels, x, node), xs[1], "q");
    const ValueId k = split_heads(linear(c, name + ".to_k", kv_dim, channels, kv, node), kvs[1], "k");
    const ValueId v = split_heads(linear(c, name + ".to_v", kv_dim, channels, kv, node), kvs[1], "v");
    const ValueId o = g.attention(q, k, v, {}, name);
    // [B, H, T, D] -> [B, T, H*D]: heads side by side again, which needs a packed copy.
    const ValueId merged = g.reshape(g.contiguous(g.permute(o, {0, 2, 1, 3}), name + ".merge"),
                                     core::Shape{xs[0], xs[1], channels});
    return linear(c, name + ".to_out.0", channels, channels, merged, node);
}

ValueId transformer_block(UNetLayerContext& c, const UNetLayer& layer, const std::string& name, ValueId x) {
    core::Graph& g = c.graph;
    const std::string node = "transformer block '" + name + "'";
    const std::int64_t ch = layer.in_channels;
    ValueId n = layer_norm(c, name + ".norm1", ch, x, node);
    x = g.add(x, attention(c, name + ".attn1", ch, n, n, ch, node), name + ".attn1.residual");
    n = layer_norm(c, name + ".norm2", ch, x, node);
    x = g.add(x, attention(c, name + ".attn2", ch, n, c.context, layer.context_dim, node), name + ".attn2.residual");
    n = layer_norm(c, name + ".norm3", ch, x, node);
    ValueId f = linear(c, name + ".ff.net.0.proj", ch, 2 * layer.ff_inner, n, node);
    f = g.geglu(f, name + ".ff.geglu");
    f = linear(c, name + ".ff.net.2", layer.ff_inner, ch, f, node);
    return g.add(x, f, name + ".ff.residual");
}

} // namespace

ValueId resblock(UNetLayerContext& c, const UNetLayer& layer, ValueId x) {
    core::Graph& g = c.graph;
    const std::string node = node_name(layer, "resblock");
    const std::string& p = layer.name;
    const std::int64_t in = layer.in_channels;
    const std::int64_t out = layer.out_channels;
    ValueId h = group_norm(c, p + ".in_layers.0", in, kResBlockNormEps, true, x, node);
    h = conv(c, p + ".in_layers.2", in, out, 3, 1, h, node);
    const std::int64_t time_dim = g.shape(c.time_embedding)[1];
    ValueId e = linear(c, p + ".emb_layers.1", time_dim, out, c.time_embedding, node);
    e = g.reshape(e, core::Shape{g.shape(e)[0], out, 1, 1});
    h = g.add(h, e, p + ".emb_add");
    h = group_norm(c, p + ".out_layers.0", out, kResBlockNormEps, true, h, node);
    h = conv(c, p + ".out_layers.3", out, out, 3, 1, h, node);
    const ValueId skip = layer.skip_conv ? conv(c, p + ".skip_connection", in, out, 1, 1, x, node) : x;
    return g.add(skip, h, p + ".residual");
}

ValueId spatial_transformer(UNetLayerContext& c, const UNetLayer& layer, ValueId x) {
    core::Graph& g = c.graph;
    const std::string node = node_name(layer, "spatial transformer");
    const std::string& p = layer.name;
    const core::Shape s = g.shape(x);
    const std::int64_t ch = layer.in_channels;
    ValueId h = group_norm(c, p + ".norm", ch, kTransformerNormEps, false, x, node);
    // [B, C, H, W] -> [B, H*W, C] tokens; proj_in (a 1x1 conv in SD 1.x, a matrix in SD 2.x: the same
    // numbers) is then a linear layer, and the linear kernel packs the strided rows itself.
    h = g.reshape(g.permute(h, {0, 2, 3, 1}), core::Shape{s[0], s[2] * s[3], ch}, p + ".tokens");
    h = linear(c, p + ".proj_in", ch, ch, h, node);
    for (int d = 0; d < layer.depth; ++d) {
        h = transformer_block(c, layer, p + ".transformer_blocks." + std::to_string(d), h);
    }
    h = linear(c, p + ".proj_out", ch, ch, h, node);
    h = g.permute(g.reshape(h, core::Shape{s[0], s[2], s[3], ch}), {0, 3, 1, 2}, p + ".channels");
    return g.add(h, x, p + ".residual");
}

ValueId downsample(UNetLayerContext& c, const UNetLayer& layer, ValueId x) {
    return conv(c, layer.name + ".op", layer.in_channels, layer.out_channels, 3, 2, x,
                node_name(layer, "downsample"));
}

ValueId upsample(UNetLayerContext& c, const UNetLayer& layer, ValueId x, std::int64_t out_h, std::int64_t out_w) {
    core::Graph& g = c.graph;
    const std::string node = node_name(layer, "upsample");
    ValueId u = g.upsample_nearest2x(x, layer.name + ".nearest2x");
    const core::Shape s = g.shape(u);
    if (out_h > s[2] || out_w > s[3] || out_h <= 0 || out_w <= 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: cannot upsample {} to {}x{}", node, g.shape(x).to_string(),
                          out_h, out_w);
    }
    if (out_h != s[2] || out_w != s[3]) {
        u = g.contiguous(g.narrow(g.narrow(u, 2, 0, out_h), 3, 0, out_w), layer.name + ".crop");
    }
    return conv(c, layer.name + ".conv", layer.in_channels, layer.out_channels, 3, 1, u, node);
}

} // namespace nd::models
