// Quantized-weight GEMM (matmul_quantized: integer dot products over 8-bit activations) at the SD 1.5 shapes,
// for every GGML weight type, with the thread pool at the physical core count. Named like bench_matmul.cpp's
// float benchmarks (BM_matmul/<type>/MxKxN), so the two line up: BM_matmul_q/<type>/MxKxN[/isa].
//
// GFLOP/s counts 2*M*N*K per iteration, as for the float GEMM, although the work is int8 multiply-adds.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backends/cpu/quant/quant_matmul.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace {

using namespace nd;

struct Shape {
    std::int64_t m, k, n;
};

// M x K by K x N: the 64x64 level's attention projections and feed-forward, the 32x32 level's feed-forward,
// the 8x8 level's projections, and the text-conditioning (cross-attention K/V) projection.
constexpr Shape kShapes[] = {
    {4096, 320, 320}, {4096, 320, 1280}, {1024, 640, 2560}, {256, 1280, 1280}, {154, 768, 320},
};

core::ThreadPool& pool() {
    static core::ThreadPool instance(0); // physical cores
    return instance;
}

std::vector<float> random_floats(std::size_t n, unsigned seed, float sigma) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) {
        x = normal(rng);
    }
    return v;
}

void bench_quant_matmul(benchmark::State& state, nd_dtype type, Shape s, backends::cpu::Isa isa) {
    const auto a = random_floats(static_cast<std::size_t>(s.m * s.k), 1, 1.0f);
    const auto w_f32 = random_floats(static_cast<std::size_t>(s.n * s.k), 2, 0.05f);
    const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(s.k)));
    std::vector<std::byte> w(static_cast<std::size_t>(row * s.n));
    for (std::int64_t j = 0; j < s.n; ++j) {
        backends::cpu::quant::quantize_row(type, std::span(w_f32.data() + j * s.k, static_cast<std::size_t>(s.k)),
                                           std::span(w.data() + j * row, static_cast<std::size_t>(row)));
    }
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
    backends::cpu::MatmulArgs args;
    args.m = s.m;
    args.n = s.n;
    args.k = s.k;
    args.a = a.data();
    args.lda = s.k;
    args.w = w.data();
    args.w_type = type;
    args.w_row_stride = row;
    args.c = c.data();
    args.ldc = s.n;
    for (auto _ : state) {
        backends::cpu::quant::matmul_quantized(args, pool(), isa);
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

std::string shape_name(const Shape& s) {
    return std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

[[maybe_unused]] const bool registered = [] {
    const nd_dtype types[] = {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1,
                              ND_DTYPE_Q2_K, ND_DTYPE_Q3_K, ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K};
    const backends::cpu::Isa best = backends::cpu::best_isa();
    for (const Shape& s : kShapes) {
        for (nd_dtype type : types) {
            if (s.k % static_cast<std::int64_t>(core::dtype_block_elements(type)) != 0) {
                continue; // K-quants need K % 256 == 0 (320 is not)
            }
            const std::string name = "BM_matmul_q/" + std::string(core::dtype_name(type)) + "/" + shape_name(s);
            benchmark::RegisterBenchmark(name.c_str(), bench_quant_matmul, type, s, best)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
            // The AVX2 variant too on AVX-512 machines, to see what VNNI buys (the legacy types are enough).
            if (best == backends::cpu::Isa::Avx512 && core::dtype_block_elements(type) == 32) {
                benchmark::RegisterBenchmark((name + "/avx2").c_str(), bench_quant_matmul, type, s,
                                             backends::cpu::Isa::Avx2)
                    ->UseRealTime()->Unit(benchmark::kMillisecond);
            }
        }
    }
    return true;
}();

} // namespace
