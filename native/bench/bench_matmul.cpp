// GEMM throughput at the SD 1.5 shapes the issue names, for every weight type, with OpenBLAS sgemm on the same
// shapes in the same run as the reference to beat. C[M,N] = A[M,K] · W[N,K]ᵀ, F32 activations.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backends/cpu/matmul.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

#ifdef ND_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using namespace nd;

struct Shape {
    std::int64_t m, k, n;
};

// M x K by K x N, as in the issue: attention projections and feed-forward of the 64x64 level, the 32x32 level's
// feed-forward, the 8x8 level's projections, and the text-conditioning projection.
constexpr Shape kShapes[] = {
    {4096, 320, 320}, {4096, 320, 1280}, {1024, 640, 2560}, {256, 1280, 1280}, {154, 768, 320},
};

core::ThreadPool& pool() {
    static core::ThreadPool instance(0); // physical cores
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

void set_flops(benchmark::State& state, const Shape& s) {
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void bench_matmul(benchmark::State& state, nd_dtype type, Shape s) {
    const auto a = random_floats(static_cast<std::size_t>(s.m * s.k), 1);
    const auto w_f32 = random_floats(static_cast<std::size_t>(s.n * s.k), 2);
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
        backends::cpu::matmul(args, pool());
        benchmark::DoNotOptimize(c.data());
    }
    set_flops(state, s);
}

#ifdef ND_HAVE_OPENBLAS
void bench_openblas(benchmark::State& state, Shape s) {
    openblas_set_num_threads(pool().size());
    const auto a = random_floats(static_cast<std::size_t>(s.m * s.k), 1);
    const auto w = random_floats(static_cast<std::size_t>(s.n * s.k), 2);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(s.m), static_cast<int>(s.n),
                    static_cast<int>(s.k), 1.0f, a.data(), static_cast<int>(s.k), w.data(), static_cast<int>(s.k),
                    0.0f, c.data(), static_cast<int>(s.n));
        benchmark::DoNotOptimize(c.data());
    }
    set_flops(state, s);
}
#endif

std::string shape_name(const Shape& s) {
    return std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

[[maybe_unused]] const bool registered = [] {
    const nd_dtype types[] = {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_BF16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0,
                              ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1, ND_DTYPE_Q2_K, ND_DTYPE_Q3_K,
                              ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K};
    for (const Shape& s : kShapes) {
#ifdef ND_HAVE_OPENBLAS
        benchmark::RegisterBenchmark(("BM_openblas_sgemm/" + shape_name(s)).c_str(), bench_openblas, s)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
        for (nd_dtype type : types) {
            if (core::dtype_block_elements(type) > 1 && s.k % static_cast<std::int64_t>(core::dtype_block_elements(type)) != 0) {
                continue; // K-quants need K % 256 == 0 (320 is not)
            }
            benchmark::RegisterBenchmark(
                ("BM_matmul/" + std::string(core::dtype_name(type)) + "/" + shape_name(s)).c_str(), bench_matmul, type, s)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
        }
    }
    return true;
}();

} // namespace
