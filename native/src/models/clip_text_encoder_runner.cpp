#include "models/clip_text_encoder_runner.hpp"

#include <string>
#include <utility>

namespace nd::models {

ClipTextEncoderRunner::ClipTextEncoderRunner(std::shared_ptr<const ClipTextEncoder> encoder,
                                             backends::Backend& backend)
    : encoder_(std::move(encoder)), runner_(backend) {}

core::Tensor ClipTextEncoderRunner::encode(const core::Tensor& ids, int clip_skip) {
    const std::string key = "skip" + std::to_string(clip_skip) + shape_key(ids);
    const auto build = [&] {
        core::Graph graph;
        const core::ValueId input = graph.input("ids", ids.dtype(), ids.shape());
        graph.mark_output(encoder_->build_output(graph, input, clip_skip));
        return graph;
    };
    return std::move(runner_.run(key, build, {&ids, 1}).front());
}

ClipTextOutputs ClipTextEncoderRunner::encode_all(const core::Tensor& ids) {
    const auto build = [&] {
        core::Graph graph;
        const core::ValueId input = graph.input("ids", ids.dtype(), ids.shape());
        const ClipTextValues values = encoder_->build(graph, input);
        graph.mark_output(values.last_hidden_state);
        graph.mark_output(values.hidden_states[values.hidden_states.size() - 2]);
        graph.mark_output(values.penultimate_with_final_ln);
        return graph;
    };
    std::vector<core::Tensor> out = runner_.run("all" + shape_key(ids), build, {&ids, 1});
    return ClipTextOutputs{std::move(out[0]), std::move(out[1]), std::move(out[2])};
}

void ClipTextEncoderRunner::release_memory(bool weights) {
    if (weights) {
        runner_.release_weights();
    } else {
        runner_.release_arenas();
    }
}

} // namespace nd::models
