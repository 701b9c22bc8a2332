// Loading model files: how long opening and borrowing a checkpoint takes (header parse + mmap, no copies),
// and the throughput of converting weights on load (F16 -> Q8_0 / Q4_0 / Q4_K / F16->F32) on 1 and all cores.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/half.hpp"
#include "core/thread_pool.hpp"
#include "model_files/single_file.hpp"
#include "model_files/weight_conversion.hpp"

namespace {

using namespace nd;

// A safetensors file of `count` F16 tensors [64, 64] (SD 1.5 has about 1,100 tensors), written once.
std::string synthetic_checkpoint(int count) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("nd-bench-checkpoint-" + std::to_string(::getpid()) + "-" + std::to_string(count) +
                               ".safetensors"))
                                 .string();
    if (std::filesystem::exists(path)) {
        return path;
    }
    const std::uint64_t bytes = 64 * 64 * 2;
    std::string header = "{";
    for (int i = 0; i < count; ++i) {
        header += i == 0 ? "\"" : ",\"";
        header += "model.diffusion_model.t" + std::to_string(i) + ".weight\":{\"dtype\":\"F16\",\"shape\":[64,64],";
        header += "\"data_offsets\":[" + std::to_string(bytes * static_cast<std::uint64_t>(i)) + ",";
        header += std::to_string(bytes * static_cast<std::uint64_t>(i + 1)) + "]}";
    }
    header += "}";
    std::ofstream out(path, std::ios::binary);
    std::uint64_t length = header.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << header;
    const std::string zeros(bytes, '\0');
    for (int i = 0; i < count; ++i) {
        out << zeros;
    }
    return path;
}

void BM_open_single_file(benchmark::State& state) {
    const std::string path = synthetic_checkpoint(static_cast<int>(state.range(0)));
    for (auto _ : state) {
        model_files::SingleFileCheckpoint checkpoint = model_files::load_single_file(path);
        benchmark::DoNotOptimize(checkpoint.weights.size());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    std::filesystem::remove(path);
}
BENCHMARK(BM_open_single_file)->Arg(1100)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_convert_weight(benchmark::State& state) {
    const auto type = static_cast<nd_dtype>(state.range(0));
    const int threads = static_cast<int>(state.range(1));
    core::Tensor source = core::Tensor::empty(ND_DTYPE_F16, {1280, 5120}); // an SD 1.5 feed-forward weight
    for (std::int64_t i = 0; i < source.elements(); ++i) {
        source.data_as<std::uint16_t>()[i] = core::f32_to_f16(std::sin(0.001f * static_cast<float>(i)));
    }
    core::ThreadPool pool(threads);
    for (auto _ : state) {
        core::Tensor out = model_files::convert_weight(source, type, &pool);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(source.packed_bytes()));
    state.SetLabel(std::to_string(pool.size()) + " threads");
}
BENCHMARK(BM_convert_weight)
    ->ArgsProduct({{ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_K, ND_DTYPE_F32}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

} // namespace
