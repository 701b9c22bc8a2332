#include "models/model_weights.hpp"

#include <charconv>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::models {

ModelWeights::ModelWeights(const model_files::WeightSet& set, std::string prefix)
    : set_(&set), prefix_(std::move(prefix)) {}

std::string ModelWeights::full_name(std::string_view name) const {
    std::string full = prefix_;
    full += name;
    return full;
}

ModelWeights ModelWeights::sub(std::string_view prefix) const {
    return ModelWeights(*set_, full_name(prefix));
}

bool ModelWeights::has(std::string_view name) const {
    return set_->contains(full_name(name));
}

const core::Tensor& ModelWeights::get(std::string_view name) const {
    return set_->require(full_name(name));
}

const core::Tensor& ModelWeights::get(std::string_view name, int rank) const {
    const core::Tensor& tensor = get(name);
    if (tensor.rank() != rank) {
        core::throw_invalid_format("weight '{}' has shape {} but the model expects {} dimensions",
                                   full_name(name), tensor.shape().to_string(), rank);
    }
    return tensor;
}

const core::Tensor& ModelWeights::get(std::string_view name, const core::Shape& shape) const {
    const core::Tensor& tensor = get(name);
    if (!(tensor.shape() == shape)) {
        core::throw_invalid_format("weight '{}' has shape {} but the model expects {}", full_name(name),
                                   tensor.shape().to_string(), shape.to_string());
    }
    return tensor;
}

int ModelWeights::count_indexed(std::string_view stem) const {
    // Collect the indices present, then count the run from 0 (a gap ends the model's list).
    const std::string head = full_name(stem) + ".";
    std::vector<bool> present;
    for (const std::string& name : set_->names_with_prefix(head)) {
        const std::string_view rest = std::string_view(name).substr(head.size());
        int index = 0;
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
        if (ec != std::errc{} || end == rest.data() || end == rest.data() + rest.size() || *end != '.' ||
            index < 0 || index > 100000) {
            continue;
        }
        if (present.size() <= static_cast<std::size_t>(index)) {
            present.resize(static_cast<std::size_t>(index) + 1, false);
        }
        present[static_cast<std::size_t>(index)] = true;
    }
    int count = 0;
    while (static_cast<std::size_t>(count) < present.size() && present[static_cast<std::size_t>(count)]) {
        ++count;
    }
    return count;
}

NormWeights ModelWeights::norm(std::string_view name, std::int64_t channels) const {
    const std::string stem(name);
    return NormWeights{get(stem + ".weight", core::Shape{channels}),
                       get(stem + ".bias", core::Shape{channels})};
}

LinearWeights ModelWeights::linear(std::string_view name, std::int64_t out, std::int64_t in) const {
    const std::string stem(name);
    LinearWeights w;
    w.weight = get(stem + ".weight", core::Shape{out, in});
    w.bias = to_f32_tensor(get(stem + ".bias", core::Shape{out}), full_name(stem + ".bias"));
    return w;
}

ConvWeights ModelWeights::conv(std::string_view name, std::int64_t out, std::int64_t in, int kernel) const {
    const std::string stem(name);
    const std::string weight_name = stem + ".weight";
    const core::Tensor& weight = get(weight_name);
    if (out < 0 && weight.rank() >= 1) {
        out = weight.dim(0);
    }
    ConvWeights w;
    w.kernel = kernel;
    if (weight.rank() == 2 && core::dtype_is_quantized(weight.dtype())) {
        w.weight = get(weight_name, core::Shape{out, in * kernel * kernel});
    } else {
        w.weight = get(weight_name, core::Shape{out, in, kernel, kernel});
    }
    w.bias = get(stem + ".bias", core::Shape{out});
    return w;
}

LinearWeights ModelWeights::conv1x1_as_linear(std::string_view name, std::int64_t out, std::int64_t in,
                                              Bias bias) const {
    const std::string stem(name);
    const std::string weight_name = stem + ".weight";
    LinearWeights w;
    w.weight = get(weight_name).rank() == 2
                   ? get(weight_name, core::Shape{out, in})
                   : get(weight_name, core::Shape{out, in, 1, 1}).reshape(core::Shape{out, in});
    if (bias == Bias::Required || has(stem + ".bias")) {
        w.bias = to_f32_tensor(get(stem + ".bias", core::Shape{out}), full_name(stem + ".bias"));
    }
    return w;
}

std::int64_t ModelWeights::conv_in_channels(std::string_view name, int kernel) const {
    const std::string weight_name = std::string(name) + ".weight";
    const core::Tensor& weight = get(weight_name);
    if (weight.rank() == 4) {
        return weight.dim(1);
    }
    const std::int64_t taps = static_cast<std::int64_t>(kernel) * kernel;
    if (weight.rank() == 2 && weight.dim(1) % taps == 0) {
        return weight.dim(1) / taps;
    }
    core::throw_invalid_format("weight '{}' has shape {}, not that of a {}x{} convolution",
                               full_name(weight_name), weight.shape().to_string(), kernel, kernel);
}

core::Tensor to_f32_tensor(const core::Tensor& tensor, std::string_view name) {
    if (tensor.dtype() == ND_DTYPE_F32) {
        return tensor;
    }
    if (core::dtype_is_quantized(tensor.dtype())) {
        core::throw_error(ND_STATUS_UNSUPPORTED,
                          "weight '{}' is {}; the model needs it as floats (F32, F16 or BF16)", name,
                          core::dtype_name(tensor.dtype()));
    }
    const std::vector<float> values = tensor.to_f32();
    return core::Tensor::from_f32(tensor.shape(), values);
}

core::ValueId add_linear(core::Graph& graph, core::ValueId x, const LinearWeights& w,
                         const std::string& name) {
    const core::ValueId weight = graph.weight(name + ".weight", w.weight);
    const core::ValueId bias = w.bias.defined() ? graph.weight(name + ".bias", w.bias) : core::ValueId{};
    return graph.linear(x, weight, bias, name);
}

core::ValueId add_conv(core::Graph& graph, core::ValueId x, const ConvWeights& w, int stride, int pad,
                       const std::string& name) {
    core::Conv2dParams params;
    params.kernel_h = w.kernel;
    params.kernel_w = w.kernel;
    params.stride_h = stride;
    params.stride_w = stride;
    params.pad_h = pad;
    params.pad_w = pad;
    const core::ValueId weight = graph.weight(name + ".weight", w.weight);
    const core::ValueId bias = w.bias.defined() ? graph.weight(name + ".bias", w.bias) : core::ValueId{};
    return graph.conv2d(x, weight, bias, params, name);
}

core::ValueId add_group_norm(core::Graph& graph, core::ValueId x, const NormWeights& w,
                             const core::GroupNormParams& params, const std::string& name) {
    const core::ValueId weight = graph.weight(name + ".weight", w.weight);
    const core::ValueId bias = graph.weight(name + ".bias", w.bias);
    return graph.group_norm(x, weight, bias, params, name);
}

core::ValueId add_layer_norm(core::Graph& graph, core::ValueId x, const NormWeights& w, float eps,
                             const std::string& name) {
    const core::ValueId weight = graph.weight(name + ".weight", w.weight);
    const core::ValueId bias = graph.weight(name + ".bias", w.bias);
    return graph.layer_norm(x, weight, bias, core::LayerNormParams{eps}, name);
}

} // namespace nd::models
