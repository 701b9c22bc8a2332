// Throughput of the convolution and attention kernels at SD 1.5 sizes (batch 1, the 64x64 latent of a
// 512x512 image), GFLOP/s counting multiply-adds as two operations.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backends/cpu/ops/attention.hpp"
#include "backends/cpu/ops/conv2d.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace {

using namespace nd;

core::ThreadPool& pool() {
    static core::ThreadPool instance(0);
    return instance;
}

std::vector<float> random_floats(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<float> v(n);
    for (float& x : v) {
        x = normal(rng);
    }
    return v;
}

core::TensorView f32_view(float* data, std::array<std::int64_t, 4> shape) {
    core::TensorView v;
    v.rank = 4;
    v.shape = shape;
    v.strides = {shape[1] * shape[2] * shape[3] * 4, shape[2] * shape[3] * 4, shape[3] * 4, 4};
    v.data = reinterpret_cast<std::byte*>(data);
    return v;
}

// 3x3 convolution, stride 1, padding 1, `channels` in and out at size x size.
void bench_conv(benchmark::State& state, nd_dtype type, std::int64_t size, std::int64_t channels) {
    const std::int64_t k = channels * 9;
    auto x = random_floats(static_cast<std::size_t>(channels * size * size), 1);
    auto w_f32 = random_floats(static_cast<std::size_t>(channels * k), 2);
    const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(k)));
    std::vector<std::byte> w(static_cast<std::size_t>(row * channels));
    for (std::int64_t co = 0; co < channels; ++co) {
        backends::cpu::quant::quantize_row(type, std::span(w_f32.data() + co * k, static_cast<std::size_t>(k)),
                                           std::span(w.data() + co * row, static_cast<std::size_t>(row)));
    }
    core::TensorView weight;
    weight.dtype = type;
    weight.rank = 2;
    weight.shape = {channels, k, 0, 0};
    weight.strides = {row, 0, 0, 0};
    weight.data = w.data();
    std::vector<float> out(x.size());
    for (auto _ : state) {
        backends::cpu::ops::conv2d(f32_view(x.data(), {1, channels, size, size}), weight, core::TensorView{}, {},
                                   f32_view(out.data(), {1, channels, size, size}), pool());
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(size * size * channels * k) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void bench_attention(benchmark::State& state, std::int64_t lq, std::int64_t lk, std::int64_t heads, std::int64_t d) {
    auto q = random_floats(static_cast<std::size_t>(heads * lq * d), 1);
    auto k = random_floats(static_cast<std::size_t>(heads * lk * d), 2);
    auto v = random_floats(static_cast<std::size_t>(heads * lk * d), 3);
    std::vector<float> out(q.size());
    for (auto _ : state) {
        backends::cpu::ops::attention(f32_view(q.data(), {1, heads, lq, d}), f32_view(k.data(), {1, heads, lk, d}),
                                      f32_view(v.data(), {1, heads, lk, d}), 0.0f,
                                      f32_view(out.data(), {1, heads, lq, d}), pool());
        benchmark::DoNotOptimize(out.data());
    }
    // q kᵀ and p v: two multiply-adds per (query, key, channel).
    state.counters["GFLOP/s"] = benchmark::Counter(4.0 * static_cast<double>(heads * lq * lk * d) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

[[maybe_unused]] const bool registered = [] {
    for (nd_dtype type : {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0}) {
        const std::string name = core::dtype_name(type);
        benchmark::RegisterBenchmark(("BM_conv3x3/" + name + "/64x64x320").c_str(), bench_conv, type, 64, 320)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_conv3x3/" + name + "/32x32x640").c_str(), bench_conv, type, 32, 640)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("BM_attention/self/4096x4096x8x40", bench_attention, 4096, 4096, 8, 40)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_attention/cross/4096x77x8x40", bench_attention, 4096, 77, 8, 40)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    return true;
}();

} // namespace
