// Throughput of the CPU ops at SD 1.5 sizes (batch 1, the 64x64 latent of a 512x512 image): 3x3 convolutions
// (GFLOP/s counting multiply-adds as two operations), fused attention (self: 4096 tokens, cross: 77 text
// tokens; 8 heads of 40) and group norm + SiLU (GB/s of activations read and written).
//
//   ./build.sh Bench --filter 'BM_(conv3x3|attention|group_norm)'
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backends/cpu/ops/attention.hpp"
#include "backends/cpu/ops/conv2d.hpp"
#include "backends/cpu/ops/elementwise.hpp"
#include "backends/cpu/ops/normalization.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace {

using namespace nd;
namespace ops = backends::cpu::ops;

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

// kernel x kernel convolution, stride 1, "same" padding, `channels` in and out at size x size, weights stored
// as `type` rows.
void bench_conv(benchmark::State& state, nd_dtype type, std::int64_t size, std::int64_t channels, int kernel) {
    const std::int64_t k = channels * kernel * kernel;
    auto x = random_floats(static_cast<std::size_t>(channels * size * size), 1);
    auto w_f32 = random_floats(static_cast<std::size_t>(channels * k), 2);
    auto bias = random_floats(static_cast<std::size_t>(channels), 3);
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
    core::TensorView b;
    b.rank = 1;
    b.shape = {channels, 0, 0, 0};
    b.strides = {4, 0, 0, 0};
    b.data = reinterpret_cast<std::byte*>(bias.data());
    std::vector<float> out(x.size());
    for (auto _ : state) {
        ops::conv2d(f32_view(x.data(), {1, channels, size, size}), weight, b,
                    ops::Conv2dParams{kernel, kernel, 1, kernel / 2}, f32_view(out.data(), {1, channels, size, size}),
                    pool());
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(size * size * channels * k) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = pool().size();
}

void bench_attention(benchmark::State& state, std::int64_t lq, std::int64_t lk, std::int64_t heads, std::int64_t d) {
    auto q = random_floats(static_cast<std::size_t>(heads * lq * d), 1);
    auto k = random_floats(static_cast<std::size_t>(heads * lk * d), 2);
    auto v = random_floats(static_cast<std::size_t>(heads * lk * d), 3);
    std::vector<float> out(q.size());
    for (auto _ : state) {
        ops::attention(f32_view(q.data(), {1, heads, lq, d}), f32_view(k.data(), {1, heads, lk, d}),
                       f32_view(v.data(), {1, heads, lk, d}), 0.0f, f32_view(out.data(), {1, heads, lq, d}), pool());
        benchmark::DoNotOptimize(out.data());
    }
    // q kᵀ and p v: two multiply-adds per (query, key, channel).
    state.counters["GFLOP/s"] = benchmark::Counter(4.0 * static_cast<double>(heads * lq * lk * d) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.counters["scratch_KiB"] = static_cast<double>(ops::attention_scratch_bytes(d)) / 1024.0;
    state.counters["threads"] = pool().size();
}

void bench_group_norm(benchmark::State& state, std::int64_t size, std::int64_t channels, bool silu) {
    auto x = random_floats(static_cast<std::size_t>(channels * size * size), 1);
    auto gamma = random_floats(static_cast<std::size_t>(channels), 2);
    auto beta = random_floats(static_cast<std::size_t>(channels), 3);
    std::vector<float> out(x.size());
    core::TensorView g;
    g.rank = 1;
    g.shape = {channels, 0, 0, 0};
    g.strides = {4, 0, 0, 0};
    g.data = reinterpret_cast<std::byte*>(gamma.data());
    core::TensorView b = g;
    b.data = reinterpret_cast<std::byte*>(beta.data());
    ops::GroupNormParams p;
    p.silu = silu;
    for (auto _ : state) {
        ops::group_norm(f32_view(x.data(), {1, channels, size, size}), g, b, p,
                        f32_view(out.data(), {1, channels, size, size}), pool());
        benchmark::DoNotOptimize(out.data());
    }
    // Two reads for the statistics, one read and one write to apply.
    state.counters["GB/s"] = benchmark::Counter(4.0 * 4.0 * static_cast<double>(x.size()) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = pool().size();
}

void bench_gelu(benchmark::State& state, std::int64_t n) {
    auto x = random_floats(static_cast<std::size_t>(n), 1);
    std::vector<float> out(x.size());
    core::TensorView in;
    in.rank = 1;
    in.shape = {n, 0, 0, 0};
    in.strides = {4, 0, 0, 0};
    in.data = reinterpret_cast<std::byte*>(x.data());
    core::TensorView o = in;
    o.data = reinterpret_cast<std::byte*>(out.data());
    for (auto _ : state) {
        ops::gelu(in, o, pool());
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["Gelem/s"] = benchmark::Counter(static_cast<double>(n) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

[[maybe_unused]] const bool registered = [] {
    for (nd_dtype type : {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0}) {
        const std::string name = core::dtype_name(type);
        benchmark::RegisterBenchmark(("BM_conv3x3/" + name + "/64x64x320").c_str(), bench_conv, type, 64, 320, 3)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_conv3x3/" + name + "/32x32x640").c_str(), bench_conv, type, 32, 640, 3)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_conv1x1/" + name + "/64x64x320").c_str(), bench_conv, type, 64, 320, 1)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("BM_attention/self/4096x4096x8x40", bench_attention, 4096, 4096, 8, 40)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_attention/cross/4096x77x8x40", bench_attention, 4096, 77, 8, 40)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_attention/self/1024x1024x8x80", bench_attention, 1024, 1024, 8, 80)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_attention/self/256x256x8x160", bench_attention, 256, 256, 8, 160)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_group_norm/64x64x320", bench_group_norm, 64, 320, false)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_group_norm_silu/64x64x320", bench_group_norm, 64, 320, true)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_gelu/4096x1280", bench_gelu, 4096 * 1280)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    return true;
}();

} // namespace
