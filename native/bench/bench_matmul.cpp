// Float GEMM throughput (F32, F16 and BF16 weights) at the SD 1.5 shapes the issue names, with OpenBLAS sgemm on
// the same shapes in the same run as the reference to beat. C[M,N] = A[M,K] · W[N,K]ᵀ, F32 activations, the
// thread pool at the physical core count and OpenBLAS set to the same number of threads.
//
//   BM_matmul/<dtype>/<M>x<K>x<N>         matmul(): packs the weights on every call, as a graph runs it
//   BM_matmul_packed/<dtype>/<M>x<K>x<N>  matmul_packed() on weights packed once (gemm/packed_weights.hpp)
//   BM_matmul_avx2/<dtype>/<M>x<K>x<N>    the AVX2 kernels on an AVX-512 machine (what a CPU without it gets)
//   BM_openblas_sgemm/<M>x<K>x<N>         cblas_sgemm(RowMajor, NoTrans, Trans): the same product in F32
//   .../1_thread                           BM_matmul and BM_openblas_sgemm on one thread: the kernels alone,
//                                          without the thread scaling (and less exposed to a busy machine)
//
// GFLOP/s counts 2*M*N*K per iteration. The quantized types are bench_quant_matmul.cpp's (BM_matmul_q/...).
// native/bench/run_benchmarks.sh runs these and prints the table of docs/performance.md.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backends/cpu/gemm/packed_weights.hpp"
#include "backends/cpu/matmul.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/system_info.hpp"
#include "core/thread_pool.hpp"

#ifdef ND_HAVE_OPENBLAS
#include <cblas.h> // OpenBLAS's: also declares openblas_set_num_threads, openblas_get_corename/config
#endif

namespace {

using namespace nd;
namespace cpu = nd::backends::cpu;

struct Shape {
    std::int64_t m, k, n;
};

// M x K by K x N: the 64x64 level's attention projections and feed-forward (GEGLU input), the 32x32 level's
// feed-forward, the 8x8 level's projections, and the text-conditioning (cross-attention K/V) projection.
constexpr Shape kShapes[] = {
    {4096, 320, 320}, {4096, 320, 1280}, {1024, 640, 2560}, {256, 1280, 1280}, {154, 768, 320},
};

constexpr nd_dtype kTypes[] = {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_BF16};

core::ThreadPool& pool() {
    static core::ThreadPool instance(0); // physical cores
    return instance;
}

core::ThreadPool& single_thread() {
    static core::ThreadPool instance(1);
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

void set_flops(benchmark::State& state, const Shape& s, int threads) {
    const double flops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
    state.counters["threads"] = threads;
}

// The operands of one benchmark: A, W in `type` (rounded from the same F32 values for every type) and C.
struct Operands {
    std::vector<float> a;
    std::vector<std::byte> w;
    std::vector<float> c;
    cpu::MatmulArgs args;

    Operands(nd_dtype type, const Shape& s) {
        a = random_floats(static_cast<std::size_t>(s.m * s.k), 1);
        const auto w_f32 = random_floats(static_cast<std::size_t>(s.n * s.k), 2);
        const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(s.k)));
        w.resize(static_cast<std::size_t>(row * s.n));
        for (std::int64_t j = 0; j < s.n; ++j) {
            cpu::quant::quantize_row(type, std::span(w_f32.data() + j * s.k, static_cast<std::size_t>(s.k)),
                                     std::span(w.data() + j * row, static_cast<std::size_t>(row)));
        }
        c.resize(static_cast<std::size_t>(s.m * s.n));
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
    }
};

void bench_matmul(benchmark::State& state, nd_dtype type, Shape s, cpu::Isa isa, core::ThreadPool* threads) {
    if (!cpu::isa_supported(isa, cpu::cpu_features())) {
        state.SkipWithError("this CPU lacks the instruction set");
        return;
    }
    Operands op(type, s);
    for (auto _ : state) {
        cpu::matmul(op.args, *threads, isa);
        benchmark::DoNotOptimize(op.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s, threads->size());
}

void bench_matmul_packed(benchmark::State& state, nd_dtype type, Shape s) {
    Operands op(type, s);
    const cpu::gemm::PackedWeights packed =
        cpu::gemm::pack_weights(op.args.w, type, s.n, s.k, op.args.w_row_stride, pool());
    cpu::gemm::PackedMatmulArgs args;
    args.m = s.m;
    args.a = op.a.data();
    args.lda = s.k;
    args.c = op.c.data();
    args.ldc = s.n;
    for (auto _ : state) {
        cpu::gemm::matmul_packed(args, packed, pool());
        benchmark::DoNotOptimize(op.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s, pool().size());
}

#ifdef ND_HAVE_OPENBLAS
void bench_openblas(benchmark::State& state, Shape s, int threads) {
    openblas_set_num_threads(threads);
    const auto a = random_floats(static_cast<std::size_t>(s.m * s.k), 1);
    const auto w = random_floats(static_cast<std::size_t>(s.n * s.k), 2);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(s.m), static_cast<int>(s.n),
                    static_cast<int>(s.k), 1.0f, a.data(), static_cast<int>(s.k), w.data(), static_cast<int>(s.k),
                    0.0f, c.data(), static_cast<int>(s.n));
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s, threads);
}
#endif

std::string shape_name(const Shape& s) {
    return std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

[[maybe_unused]] const bool registered = [] {
    benchmark::AddCustomContext("cpu_name", core::cpu_name());
    benchmark::AddCustomContext("nd_isa", std::string(cpu::isa_name(cpu::best_isa())));
    benchmark::AddCustomContext("nd_threads", std::to_string(pool().size()));
#ifdef ND_HAVE_OPENBLAS
    // Which kernels OpenBLAS picked (a DYNAMIC_ARCH build picks at load time, and OPENBLAS_CORETYPE overrides).
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
    benchmark::AddCustomContext("openblas_config", openblas_get_config());
#endif
    for (const Shape& s : kShapes) {
        const std::string shape = shape_name(s);
        for (core::ThreadPool* threads : {&pool(), &single_thread()}) {
            const std::string suffix = threads == &pool() ? "" : "/1_thread";
#ifdef ND_HAVE_OPENBLAS
            benchmark::RegisterBenchmark(("BM_openblas_sgemm/" + shape + suffix).c_str(), bench_openblas, s,
                                         threads->size())
                ->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
            for (nd_dtype type : kTypes) {
                const std::string name = std::string(core::dtype_name(type)) + "/" + shape;
                benchmark::RegisterBenchmark(("BM_matmul/" + name + suffix).c_str(), bench_matmul, type, s,
                                             cpu::best_isa(), threads)
                    ->UseRealTime()->Unit(benchmark::kMillisecond);
                if (threads != &pool()) {
                    continue;
                }
                benchmark::RegisterBenchmark(("BM_matmul_packed/" + name).c_str(), bench_matmul_packed, type, s)
                    ->UseRealTime()->Unit(benchmark::kMillisecond);
                if (cpu::best_isa() == cpu::Isa::Avx512) {
                    benchmark::RegisterBenchmark(("BM_matmul_avx2/" + name).c_str(), bench_matmul, type, s,
                                                 cpu::Isa::Avx2, threads)
                        ->UseRealTime()->Unit(benchmark::kMillisecond);
                }
            }
        }
    }
    return true;
}();

} // namespace
