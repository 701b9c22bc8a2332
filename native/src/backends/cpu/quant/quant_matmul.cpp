// matmul_quantized(): checks the arguments, picks the variant, owns the scratch and splits the three steps of
// quant_matmul_kernels.hpp over the thread pool: pack the weight panels, then quantize rows of A and multiply
// them, either fused per row chunk (many rows) or as two passes with column splits too (few rows).
#include "backends/cpu/quant/quant_matmul.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends::cpu::quant {

namespace kernels {

LevelFormat level_format(nd_dtype type) noexcept {
    switch (type) {
    case ND_DTYPE_Q8_0: return {32, 128, false};
    case ND_DTYPE_Q4_0: return {32, 8, false};
    case ND_DTYPE_Q4_1: return {32, 0, true};
    case ND_DTYPE_Q5_0: return {32, 16, false};
    case ND_DTYPE_Q5_1: return {32, 0, true};
    case ND_DTYPE_Q2_K: return {16, 0, true};
    case ND_DTYPE_Q3_K: return {16, 4, false};
    case ND_DTYPE_Q4_K: return {32, 0, true};
    case ND_DTYPE_Q5_K: return {32, 0, true};
    case ND_DTYPE_Q6_K: return {16, 32, false};
    case ND_DTYPE_Q8_K: return {32, 128, false};
    default: return {};
    }
}

} // namespace kernels

namespace {

void check_args(const MatmulArgs& a, Isa isa) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (!core::dtype_is_quantized(a.w_type)) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "matmul_quantized: weights of type {} are not block-quantized",
                          core::dtype_name(a.w_type));
    }
    if (a.m <= 0 || a.n <= 0 || a.k <= 0) {
        core::throw_error(bad, "matmul_quantized: sizes must be positive, got m={} n={} k={}", a.m, a.n, a.k);
    }
    if (a.a == nullptr || a.w == nullptr || a.c == nullptr) {
        core::throw_error(bad, "matmul_quantized: {} is NULL", a.a == nullptr ? "a" : a.w == nullptr ? "w" : "c");
    }
    if (a.lda < a.k) {
        core::throw_error(bad, "matmul_quantized: lda={} is smaller than k={}", a.lda, a.k);
    }
    if (a.ldc < a.n) {
        core::throw_error(bad, "matmul_quantized: ldc={} is smaller than n={}", a.ldc, a.n);
    }
    const auto block = static_cast<std::int64_t>(core::dtype_block_elements(a.w_type));
    if (a.k % block != 0) {
        core::throw_error(bad, "matmul_quantized: k={} is not a multiple of the {} block of {} elements", a.k,
                          core::dtype_name(a.w_type), block);
    }
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(a.w_type, static_cast<std::uint64_t>(a.k)));
    if (a.w_row_stride < row_bytes) {
        core::throw_error(bad, "matmul_quantized: w_row_stride={} is smaller than a {} row of k={} ({} bytes)",
                          a.w_row_stride, core::dtype_name(a.w_type), a.k, row_bytes);
    }
    if (!isa_supported(isa, cpu_features())) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "matmul_quantized: this CPU cannot run the {} kernels",
                          isa_name(isa));
    }
}

struct Variant {
    const kernels::Kernels* kernels;
    kernels::LevelFormat format;
};

Variant variant_for(Isa isa, nd_dtype type) {
    // The AVX-512 kernels are built on VNNI; an AVX-512 CPU without it (Skylake-X) runs the AVX2 ones.
    if (isa == Isa::Avx512 && avx512_vnni()) {
        return {&kernels::avx512_kernels(), kernels::avx512_format(type)};
    }
    if (isa == Isa::Avx512 || isa == Isa::Avx2) {
        return {&kernels::avx2_kernels(), kernels::avx2_format(type)};
    }
    return {&kernels::scalar_kernels(), kernels::scalar_format(type)}; // Scalar, and Neon until it has its own
}

// 64-byte aligned scratch, uninitialised.
struct Buffer {
    struct Free {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
    };
    std::unique_ptr<std::byte[], Free> data;

    explicit Buffer(std::size_t bytes)
        : data(static_cast<std::byte*>(::operator new[](std::max<std::size_t>(bytes, 64), std::align_val_t{64}))) {}

    template <typename T>
    T* at(std::size_t byte_offset) const noexcept {
        return reinterpret_cast<T*>(data.get() + byte_offset);
    }
};

std::size_t round_up(std::size_t bytes) {
    return (bytes + 63) / 64 * 64;
}

} // namespace

struct PackedQuantAccess {
    static const kernels::PackedWeights& panels(const PackedQuantWeights& w) noexcept { return w.panels_; }
};

void PackedQuantWeights::Free::operator()(std::byte* p) const noexcept {
    ::operator delete[](p, std::align_val_t{64});
}

PackedQuantWeights pack_quantized(const std::byte* w, nd_dtype type, std::int64_t n, std::int64_t k,
                                  std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa) {
    MatmulArgs shape; // check_args() wants a whole product; a 1-row one with dummy A and C stands in
    float dummy = 0.0f;
    shape.m = 1;
    shape.n = n;
    shape.k = k;
    shape.a = &dummy;
    shape.lda = k;
    shape.w = w;
    shape.w_type = type;
    shape.w_row_stride = w_row_stride;
    shape.c = &dummy;
    shape.ldc = n;
    check_args(shape, isa);
    const Variant v = variant_for(isa, type);
    const std::int64_t groups = k / v.format.group;
    const std::int64_t width = v.kernels->width;
    const std::int64_t panels = (n + width - 1) / width;
    const std::size_t level_bytes = round_up(static_cast<std::size_t>(panels * width * k));
    const std::size_t group_bytes = round_up(static_cast<std::size_t>(panels * width * groups) * 4);
    const std::size_t bytes = level_bytes + group_bytes * (v.format.has_min ? 2 : 1);

    PackedQuantWeights packed;
    packed.storage_.reset(static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{64})));
    packed.bytes_ = bytes;
    packed.type_ = type;
    packed.n_ = n;
    packed.k_ = k;
    packed.isa_ = isa;
    kernels::PackedWeights& pw = packed.panels_;
    pw.levels = reinterpret_cast<std::uint8_t*>(packed.storage_.get());
    pw.scale = reinterpret_cast<float*>(packed.storage_.get() + level_bytes);
    pw.min = v.format.has_min ? reinterpret_cast<float*>(packed.storage_.get() + level_bytes + group_bytes) : nullptr;
    pw.width = v.kernels->width;
    pw.k = k;
    pw.groups = groups;
    pool.parallel_for(panels, 1, [&](std::int64_t begin, std::int64_t end, int) {
        v.kernels->pack_panels(w, w_row_stride, type, n, v.format, begin, end, pw);
    });
    return packed;
}

void matmul_quantized(const MatmulArgs& args, core::ThreadPool& pool, Isa isa) {
    kernels::matmul_quantized_scheduled(args, pool, isa, kernels::Schedule::Automatic);
}

void kernels::matmul_quantized_scheduled(const MatmulArgs& args, core::ThreadPool& pool, Isa isa, Schedule schedule) {
    check_args(args, isa);
    const PackedQuantWeights packed = pack_quantized(args.w, args.w_type, args.n, args.k, args.w_row_stride, pool, isa);
    matmul_quantized_packed(args, packed, pool, schedule);
}

void matmul_quantized_packed(const MatmulArgs& args, const PackedQuantWeights& w, core::ThreadPool& pool,
                             kernels::Schedule schedule) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (w.empty()) {
        core::throw_error(bad, "matmul_quantized: the packed weights are empty");
    }
    if (args.n != w.n() || args.k != w.k()) {
        core::throw_error(bad, "matmul_quantized: n={} k={} do not match the packed weights' n={} k={}", args.n,
                          args.k, w.n(), w.k());
    }
    if (args.m <= 0) {
        core::throw_error(bad, "matmul_quantized: m={} must be positive", args.m);
    }
    if (args.a == nullptr || args.c == nullptr) {
        core::throw_error(bad, "matmul_quantized: {} is NULL", args.a == nullptr ? "a" : "c");
    }
    if (args.lda < args.k) {
        core::throw_error(bad, "matmul_quantized: lda={} is smaller than k={}", args.lda, args.k);
    }
    if (args.ldc < args.n) {
        core::throw_error(bad, "matmul_quantized: ldc={} is smaller than n={}", args.ldc, args.n);
    }
    const Variant v = variant_for(w.isa(), w.type());
    const kernels::LevelFormat& format = v.format;
    const kernels::Kernels& kern = *v.kernels;
    const kernels::PackedWeights& pw = PackedQuantAccess::panels(w);

    const std::int64_t m = args.m;
    const std::int64_t n = args.n;
    const std::int64_t k = args.k;
    const std::int64_t groups = pw.groups;
    const std::int64_t width = kern.width;
    const std::int64_t panels = (n + width - 1) / width;

    // One allocation for quantized A and its per-group numbers.
    const auto a_stride = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(k)));
    const auto mu = static_cast<std::size_t>(m);
    const auto per_row = static_cast<std::size_t>(groups) * 4;
    const std::size_t a_q_bytes = round_up(mu * static_cast<std::size_t>(a_stride));
    const std::size_t a_group_bytes = round_up(mu * per_row);
    Buffer scratch(a_q_bytes + 2 * a_group_bytes);

    kernels::QuantizedRows qa;
    qa.q = scratch.at<std::int8_t>(0);
    qa.stride = a_stride;
    qa.scale = scratch.at<float>(a_q_bytes);
    qa.correction = format.has_min ? nullptr : scratch.at<std::int32_t>(a_q_bytes + a_group_bytes);
    qa.sum = format.has_min ? scratch.at<float>(a_q_bytes + a_group_bytes) : nullptr;
    qa.groups = groups;

    kernels::Output out;
    out.c = args.c;
    out.ldc = args.ldc;
    out.n = n;
    out.bias = args.bias;
    out.accumulate = args.accumulate;

    // The product works on tasks of (row chunk x panel group): a chunk of quantized rows stays in L2 (at most
    // ~256 KB, and 16 register tiles) while the task's panels pass over it.
    const std::int64_t tile_rows = kern.rows;
    const std::int64_t chunk_limit = std::max<std::int64_t>(1, (256 * 1024 / k) / tile_rows) * tile_rows;
    std::int64_t chunk_rows = std::min(tile_rows * 16, chunk_limit);
    const std::int64_t wanted = 4 * static_cast<std::int64_t>(pool.size());
    const std::int64_t all_panel_chunks = (m + chunk_rows - 1) / chunk_rows;

    // When A is large enough to stream from memory (im2col'd 3x3 convolutions: 4096 x 2880 is 47 MB),
    // quantizing it is bandwidth-bound and a separate pass leaves the vector units idle: then each task quantizes
    // its own chunk of rows and multiplies it by all panels while it is in cache, so that threads streaming A
    // overlap threads computing. Measured on 2 Zen 5 cores (Q4_0, noisy): 4096x2880x320 870 vs 750 GFLOP/s,
    // 1024x5760x640 950 vs 660. For A of a few MB (the linear layers) the split below balances better.
    const bool large_a = static_cast<double>(m) * static_cast<double>(k) * 4.0 >= 8.0 * (1 << 20);
    const bool fuse = schedule == kernels::Schedule::Fused ||
                      (schedule == kernels::Schedule::Automatic && all_panel_chunks >= wanted && large_a);
    if (fuse) {
        pool.run(all_panel_chunks, [&](std::int64_t task, int) {
            const std::int64_t row_begin = task * chunk_rows;
            const std::int64_t row_end = std::min(m, row_begin + chunk_rows);
            kern.quantize_rows(args.a, args.lda, k, format, row_begin, row_end, qa);
            kern.multiply(qa, pw, format, row_begin, row_end, 0, panels, out);
        });
        return;
    }

    // Split: quantize every row first, then tasks of (row chunk x panel group), made smaller (fewer panels,
    // then fewer rows) until every thread has several; with few rows this splits the columns.
    pool.parallel_for(m, 16, [&](std::int64_t begin, std::int64_t end, int) {
        kern.quantize_rows(args.a, args.lda, k, format, begin, end, qa);
    });
    std::int64_t group_panels = std::max<std::int64_t>(1, 128 / width);
    auto tasks_for = [&](std::int64_t rows, std::int64_t panels_per_task) {
        return ((m + rows - 1) / rows) * ((panels + panels_per_task - 1) / panels_per_task);
    };
    while (tasks_for(chunk_rows, group_panels) < wanted && group_panels > 1) {
        group_panels /= 2;
    }
    while (tasks_for(chunk_rows, group_panels) < wanted && chunk_rows > tile_rows) {
        chunk_rows = std::max(tile_rows, chunk_rows / 2 / tile_rows * tile_rows);
    }
    const std::int64_t row_chunks = (m + chunk_rows - 1) / chunk_rows;
    const std::int64_t panel_groups = (panels + group_panels - 1) / group_panels;
    pool.run(row_chunks * panel_groups, [&](std::int64_t task, int) {
        const std::int64_t row_begin = task / panel_groups * chunk_rows;
        const std::int64_t panel_begin = task % panel_groups * group_panels;
        kern.multiply(qa, pw, format, row_begin, std::min(m, row_begin + chunk_rows), panel_begin,
                      std::min(panels, panel_begin + group_panels), out);
    });
}

} // namespace nd::backends::cpu::quant
