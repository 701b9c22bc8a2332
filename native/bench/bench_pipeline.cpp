// The whole txt2img pipeline at full SD 1.5 size (random F16 weights in the real checkpoint's shapes):
// 512x512, 2 Euler steps, CFG 7 (batch-2 UNet), 2 threads. Reports the load, text encoder, per-step and VAE
// decode seconds (as counters) from the pipeline's own progress reports. One iteration: it takes minutes.
//
//   artifacts/cmake/dev/native/tools/nd_make_random_model
//       --shapes ../shared/fixtures/sd15_original_tensor_shapes.json --out
//       artifacts/models/sd15-random-f16.safetensors
//   artifacts/cmake/dev/native/bench/nd_bench --benchmark_filter=BM_pipeline
//
// The model path may be given with ND_BENCH_SD15_MODEL; the tokenizer comes from
// ../shared/fixtures/tokenizer.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/stable_diffusion.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace nd;

std::filesystem::path model_path() {
    if (const char* env = std::getenv("ND_BENCH_SD15_MODEL"); env != nullptr && *env != '\0') {
        return env;
    }
    return std::filesystem::path(ND_SOURCE_DIR) / "artifacts" / "models" / "sd15-random-f16.safetensors";
}

void BM_pipeline_sd15_512_two_steps(benchmark::State& state) {
    const std::filesystem::path path = model_path();
    if (!std::filesystem::is_regular_file(path)) {
        state.SkipWithError(
            ("no model at " + path.string() + ": make one with nd_make_random_model").c_str());
        return;
    }
    for (auto _ : state) {
        const auto load_started = std::chrono::steady_clock::now();
        model_files::LoadOptions options;
        options.path = path;
        options.tokenizer_directory = testing::fixtures_dir() / "tokenizer";
        pipeline::StableDiffusion sd(model_files::load_model_files(options), pipeline::PipelineOptions{2});
        const double load =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - load_started).count();

        pipeline::GenerationRequest request;
        request.prompt = "a photo of an astronaut riding a horse on mars";
        request.negative_prompt = "blurry, low quality";
        request.width = 512;
        request.height = 512;
        request.steps = 2;
        request.sampler = "euler";
        double text = 0.0;
        double decode = 0.0;
        std::vector<double> steps;
        pipeline::GenerationHooks hooks;
        hooks.progress = [&](const pipeline::Progress& p) {
            if (p.stage == pipeline::Stage::TextEncoding) {
                text = p.seconds_last_step;
            } else if (p.stage == pipeline::Stage::Decoding) {
                decode = p.seconds_last_step;
            } else if (p.step > 0) {
                steps.push_back(p.seconds_last_step);
            }
        };
        const auto started = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(sd.generate(request, hooks));
        state.counters["total_s"] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        state.counters["load_s"] = load;
        state.counters["text_s"] = text;
        state.counters["decode_s"] = decode;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            state.counters["step" + std::to_string(i + 1) + "_s"] = steps[i];
        }
    }
}
BENCHMARK(BM_pipeline_sd15_512_two_steps)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

} // namespace
