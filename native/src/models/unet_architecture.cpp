#include "models/unet_architecture.hpp"

#include "core/error.hpp"

namespace nd::models {

namespace {

class Reader {
public:
    Reader(const model_files::WeightSet& weights, std::string_view prefix) : weights_(weights), prefix_(prefix) {}

    [[nodiscard]] bool has(const std::string& name) const { return weights_.contains(prefix_ + name); }
    [[nodiscard]] bool any_under(const std::string& name) const {
        return !weights_.names_with_prefix(prefix_ + name + ".").empty();
    }

    // Extent `dim` of a weight that fixes a width, or an error naming it and the layer that needed it.
    [[nodiscard]] std::int64_t extent(const std::string& name, int dim, int rank, const std::string& layer) const {
        const std::string full = prefix_ + name;
        const core::Tensor* tensor = weights_.find(full);
        if (tensor == nullptr) {
            core::throw_invalid_format("unet layer '{}' needs weight '{}', which the model lacks", layer, full);
        }
        if (rank > 0 && tensor->rank() != rank) {
            core::throw_invalid_format("unet layer '{}': weight '{}' has shape {}, expected {} dimensions", layer,
                                       full, tensor->shape().to_string(), rank);
        }
        return tensor->dim(dim);
    }

    [[nodiscard]] const core::Tensor* find(const std::string& name) const { return weights_.find(prefix_ + name); }
    [[nodiscard]] std::string first_name_under(const std::string& name) const {
        const auto names = weights_.names_with_prefix(prefix_ + name + ".");
        return names.empty() ? std::string() : names.front();
    }

private:
    const model_files::WeightSet& weights_;
    std::string prefix_;
};

// Output channels of a conv kernel [O, C, k, k] or its rows [O, C*k*k].
std::int64_t conv_out(const Reader& r, const std::string& name, const std::string& layer) {
    return r.extent(name, 0, 0, layer);
}

UNetLayer read_layer(const Reader& r, const std::string& name) {
    UNetLayer layer;
    layer.name = name;
    const std::string p = name + ".";
    if (r.has(p + "in_layers.0.weight")) {
        layer.kind = UNetLayerKind::ResBlock;
        layer.in_channels = r.extent(p + "in_layers.0.weight", 0, 1, name);
        layer.out_channels = conv_out(r, p + "in_layers.2.weight", name);
        layer.skip_conv = r.has(p + "skip_connection.weight");
    } else if (r.has(p + "proj_in.weight")) {
        layer.kind = UNetLayerKind::Transformer;
        layer.in_channels = r.extent(p + "norm.weight", 0, 1, name);
        layer.out_channels = layer.in_channels;
        const core::Tensor* proj = r.find(p + "proj_in.weight");
        layer.linear_projection = proj->rank() == 2;
        while (r.any_under(p + "transformer_blocks." + std::to_string(layer.depth))) {
            ++layer.depth;
        }
        if (layer.depth == 0) {
            core::throw_invalid_format("unet layer '{}' has proj_in but no transformer_blocks.0", name);
        }
        layer.context_dim = r.extent(p + "transformer_blocks.0.attn2.to_k.weight", 1, 2, name);
        layer.ff_inner = r.extent(p + "transformer_blocks.0.ff.net.2.weight", 1, 2, name);
    } else if (r.has(p + "op.weight")) {
        layer.kind = UNetLayerKind::Downsample;
        layer.in_channels = conv_out(r, p + "op.weight", name);
        layer.out_channels = layer.in_channels;
    } else if (r.has(p + "conv.weight")) {
        layer.kind = UNetLayerKind::Upsample;
        layer.in_channels = conv_out(r, p + "conv.weight", name);
        layer.out_channels = layer.in_channels;
    } else if (r.has(p + "weight")) {
        layer.kind = UNetLayerKind::Conv;
        layer.out_channels = conv_out(r, p + "weight", name);
    } else {
        core::throw_invalid_format("unet layer '{}' is of no known kind (its first weight is '{}')", name,
                                   r.first_name_under(name));
    }
    return layer;
}

UNetBlock read_block(const Reader& r, const std::string& name) {
    UNetBlock block;
    for (int m = 0; r.any_under(name + "." + std::to_string(m)); ++m) {
        block.layers.push_back(read_layer(r, name + "." + std::to_string(m)));
    }
    return block;
}

std::vector<UNetBlock> read_blocks(const Reader& r, const std::string& name) {
    std::vector<UNetBlock> blocks;
    for (int n = 0; r.any_under(name + "." + std::to_string(n)); ++n) {
        blocks.push_back(read_block(r, name + "." + std::to_string(n)));
    }
    return blocks;
}

std::string join(const std::vector<int>& values) {
    std::string text = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        text += (i == 0 ? "" : ", ") + std::to_string(values[i]);
    }
    return text + "]";
}

void summarise(UNetArchitecture& a) {
    // Levels end at a downsample; the last level has none.
    int res_blocks = 0;
    int depth = 0;
    std::int64_t width = a.model_channels;
    auto close_level = [&] {
        a.channel_mult.push_back(static_cast<int>(width / a.model_channels));
        a.transformer_depth.push_back(depth);
        if (a.channel_mult.size() == 1) {
            a.num_res_blocks = res_blocks;
        }
        res_blocks = 0;
        depth = 0;
    };
    for (std::size_t b = 1; b < a.input_blocks.size(); ++b) {
        for (const UNetLayer& layer : a.input_blocks[b].layers) {
            switch (layer.kind) {
            case UNetLayerKind::ResBlock:
                ++res_blocks;
                width = layer.out_channels;
                break;
            case UNetLayerKind::Transformer:
                depth = layer.depth;
                a.linear_projection = layer.linear_projection;
                break;
            case UNetLayerKind::Downsample: close_level(); break;
            default: break;
            }
        }
    }
    close_level();
}

} // namespace

std::string UNetArchitecture::describe() const {
    std::string text = "in " + std::to_string(in_channels) + ", out " + std::to_string(out_channels) +
                       ", channels " + std::to_string(model_channels) + " x " + join(channel_mult) + ", " +
                       std::to_string(num_res_blocks) + " res blocks, transformer depth " + join(transformer_depth);
    if (context_dim > 0) {
        text += ", context " + std::to_string(context_dim);
    }
    if (linear_projection) {
        text += ", linear projections";
    }
    if (adm_in_channels > 0) {
        text += ", adm " + std::to_string(adm_in_channels);
    }
    return text;
}

UNetArchitecture infer_unet_architecture(const model_files::WeightSet& weights, std::string_view prefix) {
    const Reader r(weights, prefix);
    UNetArchitecture a;
    a.model_channels = r.extent("time_embed.0.weight", 1, 2, "time_embed");
    a.time_embed_dim = r.extent("time_embed.0.weight", 0, 2, "time_embed");
    if (r.any_under("label_emb")) {
        a.adm_in_channels = r.extent("label_emb.0.0.weight", 1, 2, "label_emb");
    }
    a.input_blocks = read_blocks(r, "input_blocks");
    a.middle_block = read_block(r, "middle_block");
    a.output_blocks = read_blocks(r, "output_blocks");

    if (a.input_blocks.empty() || a.input_blocks[0].layers.size() != 1 ||
        a.input_blocks[0].layers[0].kind != UNetLayerKind::Conv) {
        core::throw_invalid_format("unet: '{}input_blocks.0.0' must be the stem convolution", prefix);
    }
    const core::Tensor* stem = r.find("input_blocks.0.0.weight");
    a.in_channels = stem->rank() == 4 ? stem->dim(1) : stem->dim(1) / 9;
    a.input_blocks[0].layers[0].in_channels = a.in_channels;
    if (a.input_blocks[0].layers[0].out_channels != a.model_channels) {
        core::throw_invalid_format("unet: the stem convolution gives {} channels but time_embed.0 expects {}",
                                   a.input_blocks[0].layers[0].out_channels, a.model_channels);
    }
    a.out_channels = conv_out(r, "out.2.weight", "out");
    if (a.output_blocks.size() != a.input_blocks.size()) {
        core::throw_invalid_format("unet: {} output blocks do not mirror {} input blocks", a.output_blocks.size(),
                                   a.input_blocks.size());
    }
    if (a.middle_block.layers.empty()) {
        core::throw_invalid_format("unet: the model has no '{}middle_block'", prefix);
    }
    for (const auto* blocks : {&a.input_blocks, &a.output_blocks}) {
        for (const UNetBlock& block : *blocks) {
            for (const UNetLayer& layer : block.layers) {
                if (layer.kind == UNetLayerKind::Conv && &block != &a.input_blocks[0]) {
                    core::throw_invalid_format("unet layer '{}' is a bare convolution where none belongs",
                                               layer.name);
                }
            }
        }
    }
    std::vector<const UNetBlock*> all;
    for (const UNetBlock& block : a.input_blocks) {
        all.push_back(&block);
    }
    all.push_back(&a.middle_block);
    for (const UNetBlock& block : a.output_blocks) {
        all.push_back(&block);
    }
    for (const UNetBlock* block : all) {
        for (const UNetLayer& layer : block->layers) {
            if (layer.kind != UNetLayerKind::Transformer) {
                continue;
            }
            if (a.context_dim != 0 && layer.context_dim != a.context_dim) {
                core::throw_invalid_format("unet layer '{}' attends to a context of width {}, others to {}",
                                           layer.name, layer.context_dim, a.context_dim);
            }
            a.context_dim = layer.context_dim;
        }
    }
    summarise(a);
    return a;
}

} // namespace nd::models
