#include "models/graph_weights.hpp"

#include <utility>
#include <vector>

#include "core/error.hpp"

namespace nd::models {

namespace {

bool shape_matches(const core::Shape& shape, std::initializer_list<std::int64_t> expected) {
    if (shape.rank != static_cast<int>(expected.size())) {
        return false;
    }
    int d = 0;
    for (const std::int64_t extent : expected) {
        if (extent >= 0 && shape[d] != extent) {
            return false;
        }
        ++d;
    }
    return true;
}

std::string expected_string(std::initializer_list<std::int64_t> expected) {
    std::string text = "[";
    bool first = true;
    for (const std::int64_t extent : expected) {
        if (!first) {
            text += ", ";
        }
        first = false;
        text += extent < 0 ? std::string("*") : std::to_string(extent);
    }
    return text + "]";
}

} // namespace

GraphWeights::GraphWeights(const model_files::WeightSet& weights, core::Graph& graph, std::string prefix)
    : weights_(weights), graph_(graph), prefix_(std::move(prefix)) {}

bool GraphWeights::has(std::string_view name) const {
    return weights_.contains(prefix_ + std::string(name));
}

const core::Tensor& GraphWeights::tensor(std::string_view name, std::string_view node) const {
    const std::string full = prefix_ + std::string(name);
    const core::Tensor* found = weights_.find(full);
    if (found == nullptr) {
        core::throw_invalid_format("{} needs weight '{}', which the model lacks", node, full);
    }
    return *found;
}

core::ValueId GraphWeights::get(std::string_view name, std::initializer_list<std::int64_t> expected,
                                std::string_view node) {
    const core::Tensor& found = tensor(name, node);
    const std::string full = prefix_ + std::string(name);
    if (!shape_matches(found.shape(), expected)) {
        core::throw_invalid_format("{} needs weight '{}' of shape {}, but the model has {}", node, full,
                                   expected_string(expected), found.shape().to_string());
    }
    return graph_.weight(full, found);
}

core::ValueId GraphWeights::matrix(std::string_view name, std::int64_t out, std::int64_t in, std::string_view node) {
    const core::Tensor& found = tensor(name, node);
    const std::string full = prefix_ + std::string(name);
    if (found.rank() == 4 && shape_matches(found.shape(), {out, in, 1, 1})) {
        return graph_.weight(full, found.reshape(core::Shape{out, in}));
    }
    return get(name, {out, in}, node);
}

core::ValueId GraphWeights::conv_kernel(std::string_view name, std::int64_t out, std::int64_t in, int k,
                                        std::string_view node, core::Conv2dParams& params) {
    const core::Tensor& found = tensor(name, node);
    if (found.rank() == 2) {
        params.kernel_h = k;
        params.kernel_w = k;
        return get(name, {out, in * k * k}, node);
    }
    return get(name, {out, in, k, k}, node);
}

core::ValueId GraphWeights::bias_f32(std::string_view name, std::int64_t n, std::string_view node) {
    const core::Tensor& found = tensor(name, node);
    const std::string full = prefix_ + std::string(name);
    if (!shape_matches(found.shape(), {n})) {
        core::throw_invalid_format("{} needs bias '{}' of shape [{}], but the model has {}", node, full, n,
                                   found.shape().to_string());
    }
    if (found.dtype() == ND_DTYPE_F32) {
        return graph_.weight(full, found);
    }
    const std::vector<float> values = found.to_f32();
    return graph_.weight(full, core::Tensor::from_f32(found.shape(), values));
}

} // namespace nd::models
