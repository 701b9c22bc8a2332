// One UNet evaluation at full SD 1.5 size (shapes of the real checkpoint, random F16 weights, 1.7 GB), batch
// 2 (cond + uncond), 77 context tokens: seconds per denoising step at 64x64 latents (512x512 images) and
// 32x32, with 2 threads (the figure stable-diffusion.cpp is compared at). BM_unet_sd15_ops runs the plan one
// step at a time and reports the seconds spent in each op kind, to show what dominates.
//
//   artifacts/cmake/dev/native/bench/nd_bench --benchmark_filter='BM_unet' --benchmark_min_time=1x
//
// Needs ../shared/fixtures/sd15_original_tensor_shapes.json beside the repository.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "core/half.hpp"
#include "formats/json.hpp"
#include "model_files/weight_set.hpp"
#include "models/unet.hpp"

namespace {

using namespace nd;

constexpr int kThreads = 2;

std::string read_text(const std::filesystem::path& path) {
    std::string text;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char buffer[65536];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) {
            text.append(buffer, n);
        }
        std::fclose(f);
    }
    return text;
}

// Matrices uniform in +-1/sqrt(fan_in), vectors (norm scales, biases) 1: activations stay O(1), so no
// denormals slow anything down.
core::Tensor random_f16(const core::Shape& shape, std::uint32_t seed) {
    core::Tensor t = core::Tensor::empty(ND_DTYPE_F16, shape);
    auto* out = t.data_as<std::uint16_t>();
    const auto n = static_cast<std::size_t>(t.elements());
    if (shape.rank == 1) {
        std::fill(out, out + n, core::f32_to_f16(1.0f));
        return t;
    }
    const float bound = 1.0f / std::sqrt(static_cast<float>(t.elements() / shape[0]));
    std::uint32_t state = seed * 2654435761u + 1u;
    for (std::size_t i = 0; i < n; ++i) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out[i] = core::f32_to_f16(bound * (static_cast<float>(state >> 8) / 8388608.0f - 1.0f));
    }
    return t;
}

// The full-size UNet's weights, made once per process (seconds, 1.7 GB).
const model_files::WeightSet& sd15_unet_weights() {
    static const model_files::WeightSet weights = [] {
        const auto path = std::filesystem::path(ND_SOURCE_DIR).parent_path() / "shared" / "fixtures" /
                          "sd15_original_tensor_shapes.json";
        const formats::JsonValue root = formats::parse_json(read_text(path));
        model_files::WeightSet set;
        std::uint32_t seed = 1;
        for (const formats::JsonMember& member : root.as_object()) {
            if (member.key.rfind(models::kUNetPrefix, 0) != 0) {
                continue;
            }
            std::vector<std::int64_t> dims;
            for (const formats::JsonValue& e : member.value.as_array()) {
                dims.push_back(e.as_number().int64.value_or(0));
            }
            set.add(member.key, random_f16(core::Shape::of(dims), seed++));
        }
        return set;
    }();
    return weights;
}

core::Tensor filled(const core::Shape& shape, float scale) {
    std::vector<float> values(static_cast<std::size_t>(shape.elements()));
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = scale * std::sin(0.37f * static_cast<float>(i));
    }
    return core::Tensor::from_f32(shape, values);
}

void BM_unet_sd15(benchmark::State& state) {
    const std::int64_t size = state.range(0);
    const auto& weights = sd15_unet_weights();
    if (weights.empty()) {
        state.SkipWithError("sd15_original_tensor_shapes.json not found beside the repository");
        return;
    }
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{kThreads, {}});
    models::UNet unet(weights, backend);
    const core::Tensor x = filled(core::Shape{2, 4, size, size}, 1.0f);
    const core::Tensor context = filled(core::Shape{2, 77, 768}, 1.0f);
    const core::Plan& plan = unet.plan({2, size, size, 77});
    (void)unet.eps(x, 500.0f, context); // warm-up: pages of the arena, packed weight panels
    for (auto _ : state) {
        benchmark::DoNotOptimize(unet.eps(x, 500.0f, context));
    }
    state.counters["arena_MiB"] = static_cast<double>(plan.peak_bytes()) / (1024.0 * 1024.0);
}
BENCHMARK(BM_unet_sd15)
    ->Arg(32)
    ->Arg(64)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime(); // CPU: both threads; on a busy machine CPU / 2 is what a quiet one would take

// One pass of the 64x64 plan step by step, timing each op kind.
void BM_unet_sd15_ops(benchmark::State& state) {
    const std::int64_t size = state.range(0);
    const auto& weights = sd15_unet_weights();
    if (weights.empty()) {
        state.SkipWithError("sd15_original_tensor_shapes.json not found beside the repository");
        return;
    }
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{kThreads, {}});
    const auto architecture = models::infer_unet_architecture(weights);
    const core::Plan plan =
        backends::plan_for(models::build_unet_graph(architecture, weights, {2, size, size, 77}), backend);
    auto arena = backend.allocate(plan.peak_bytes());
    const std::vector<float> t{500.0f, 500.0f};
    const std::vector<core::Tensor> inputs{filled(core::Shape{2, 4, size, size}, 1.0f),
                                           core::Tensor::from_f32(core::Shape{2}, t),
                                           filled(core::Shape{2, 77, 768}, 1.0f)};
    std::map<std::string, double> seconds;
    for (auto _ : state) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const core::Tensor& input = inputs[i];
            arena->upload(plan.offset(plan.graph().inputs()[i]),
                          std::span(input.data(), static_cast<std::size_t>(input.packed_bytes())))
                .wait();
        }
        seconds.clear();
        for (std::size_t s = 0; s < plan.steps().size(); ++s) {
            const auto start = std::chrono::steady_clock::now();
            backend.submit(plan, s, s + 1, *arena).wait();
            const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
            seconds[std::string(core::op_name(plan.graph().node(plan.steps()[s].value).op))] += elapsed.count();
        }
    }
    for (const auto& [op, s] : seconds) {
        state.counters[op + "_s"] = s;
    }
}
BENCHMARK(BM_unet_sd15_ops)->Arg(64)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

} // namespace
