// The machine's FMA peak: independent register-only FMA chains, enough to hide the FMA latency, no memory
// traffic. The ceiling every GEMM figure in docs/performance.md is read against.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <atomic>

#include "backends/cpu/isa.hpp"
#include "core/thread_pool.hpp"

namespace {

using namespace nd;

constexpr int kIterations = 1 << 20;

// Compiled for the baseline ISA, so the AVX code sits in target-attributed functions and runs only when the
// CPU has the feature.
__attribute__((target("avx512f"))) float fma_loop_avx512() {
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) {
        acc[i] = _mm512_set1_ps(static_cast<float>(i));
    }
    const __m512 a = _mm512_set1_ps(0.999999f);
    const __m512 b = _mm512_set1_ps(1e-7f);
    for (int it = 0; it < kIterations; ++it) {
        for (int i = 0; i < 12; ++i) {
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        }
    }
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) {
        sum = _mm512_add_ps(sum, acc[i]);
    }
    alignas(64) float lanes[16]; // keeps the result observable; the value itself does not matter
    _mm512_store_ps(lanes, sum);
    return lanes[0];
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2() {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) {
        acc[i] = _mm256_set1_ps(static_cast<float>(i));
    }
    const __m256 a = _mm256_set1_ps(0.999999f);
    const __m256 b = _mm256_set1_ps(1e-7f);
    for (int it = 0; it < kIterations; ++it) {
        for (int i = 0; i < 12; ++i) {
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
        }
    }
    alignas(32) float lanes[8];
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i) {
        sum = _mm256_add_ps(sum, acc[i]);
    }
    _mm256_store_ps(lanes, sum);
    return lanes[0];
}

void bench_peak(benchmark::State& state, backends::cpu::Isa isa, int threads) {
    if (!backends::cpu::isa_supported(isa, backends::cpu::cpu_features())) {
        state.SkipWithError("this CPU lacks the instruction set");
        return;
    }
    core::ThreadPool pool(threads);
    const int width = isa == backends::cpu::Isa::Avx512 ? 16 : 8;
    std::atomic<float> sink{0.0f};
    for (auto _ : state) {
        pool.run(pool.size(), [&](std::int64_t, int) {
            const float r = isa == backends::cpu::Isa::Avx512 ? fma_loop_avx512() : fma_loop_avx2();
            sink.store(r, std::memory_order_relaxed);
        });
    }
    const double flops = 2.0 * width * 12.0 * kIterations * pool.size();
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

[[maybe_unused]] const bool registered = [] {
    for (int threads : {1, 0}) {
        const std::string suffix = threads == 1 ? "1_thread" : "all_cores";
        benchmark::RegisterBenchmark(("BM_peak_fma/avx512/" + suffix).c_str(), bench_peak,
                                     backends::cpu::Isa::Avx512, threads)->UseRealTime();
        benchmark::RegisterBenchmark(("BM_peak_fma/avx2/" + suffix).c_str(), bench_peak,
                                     backends::cpu::Isa::Avx2, threads)->UseRealTime();
    }
    return true;
}();

} // namespace
