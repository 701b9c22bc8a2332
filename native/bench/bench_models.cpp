// Whole models at SD 1.5 size on the CPU backend, with random F16 weights (shapes from
// shared/fixtures/sd15_original_tensor_shapes.json; every tensor views one shared block of random values,
// so building costs one allocation of the largest tensor). The graph is planned once, outside the timing;
// each iteration is one Executor run. The plan's arena size is reported as the counter arena_MiB.
//
//   nd_bench --benchmark_filter='BM_(clip|vae)'
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "backends/backend.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/tensor.hpp"
#include "models/clip_text_encoder.hpp"
#include "models/vae.hpp"
#include "support/fixtures.hpp"
#include "support/sd15_shapes.hpp"

namespace {

using namespace nd;

constexpr double kMiB = 1024.0 * 1024.0;

bool shapes_available(benchmark::State& state) {
    if (!nd::testing::missing_fixture_reason(nd::testing::fixtures_dir() / "sd15_original_tensor_shapes.json")
             .empty()) {
        state.SkipWithError("shared/fixtures/sd15_original_tensor_shapes.json is missing");
        return false;
    }
    return true;
}

model_files::WeightSet sd15_weights(const char* prefix) {
    return nd::testing::sd15_shape_only_weights(
        nd::testing::fixtures_dir() / "sd15_original_tensor_shapes.json", {prefix}, /*random=*/true);
}

// CLIP ViT-L/14's text model (12 layers, width 768), `prompts` x 77 tokens, CLIP skip 1.
void BM_clip_text_encoder_sd15(benchmark::State& state) {
    if (!shapes_available(state)) {
        return;
    }
    const model_files::WeightSet weights = sd15_weights("cond_stage_model.");
    const models::ClipTextEncoder encoder = models::ClipTextEncoder::from_hf_weights(weights);
    const std::int64_t prompts = state.range(0);
    backends::cpu::CpuBackend backend;
    core::Graph graph;
    const core::ValueId ids = graph.input("ids", ND_DTYPE_I32, {prompts, 77});
    graph.mark_output(encoder.build_output(graph, ids, 1));
    const core::Plan plan = backends::plan_for(std::move(graph), backend);
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(prompts * 77));
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = static_cast<std::int32_t>((i * 7919) % 49408);
    }
    const core::Tensor input = core::Tensor::from_i32({prompts, 77}, tokens);
    backends::Executor executor(backend);
    for (auto _ : state) {
        benchmark::DoNotOptimize(executor.run(plan, {input}));
    }
    state.counters["arena_MiB"] = static_cast<double>(plan.peak_bytes()) / kMiB;
    state.counters["threads"] = backend.threads();
}
BENCHMARK(BM_clip_text_encoder_sd15)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The SD 1.5 VAE decoder: 4x64x64 latents to a 512x512 image.
void BM_vae_decode_sd15_512(benchmark::State& state) {
    if (!shapes_available(state)) {
        return;
    }
    const model_files::WeightSet weights = sd15_weights("first_stage_model.");
    const models::Vae vae = models::Vae::from_weights(weights);
    backends::cpu::CpuBackend backend;
    core::Graph graph;
    graph.mark_output(vae.build_decoder(graph, graph.input("latents", ND_DTYPE_F32, {1, 4, 64, 64})));
    const core::Plan plan = backends::plan_for(std::move(graph), backend);
    std::vector<float> values(4 * 64 * 64);
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = static_cast<float>(static_cast<int>(i % 17) - 8) * 0.1f;
    }
    const core::Tensor latents = core::Tensor::from_f32({1, 4, 64, 64}, values);
    backends::Executor executor(backend);
    for (auto _ : state) {
        benchmark::DoNotOptimize(executor.run(plan, {latents}));
    }
    state.counters["arena_MiB"] = static_cast<double>(plan.peak_bytes()) / kMiB;
    state.counters["threads"] = backend.threads();
}
BENCHMARK(BM_vae_decode_sd15_512)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

} // namespace
