// The float GEMM driver. The loop nest, outermost first (BLIS's, with W in the role of BLIS's B):
//
//   slab   of weight panels (columns) whose F32 copy (kSlabBytes at most) stays in L3 while every row of A
//          passes over it; in SD 1.5 only the feed-forward weights of the lower levels (5120 x 640 to
//          10240 x 1280) are larger, and take 2 to 7 slabs. A panel is packed
//          (converting F16/BF16) by the first task that needs it, so packing costs no pass and no barrier of
//          its own, and the packed panel is still in the packer's L2 when it first multiplies by it.
//   task   (row block x column block) of C, the unit the thread pool hands out; see plan_tasks().
//   kc     chunk of K (<= kKcMax): the task's rows of A over that chunk are packed into micro-panels in the
//          thread's scratch (an L2-resident block of at most kMaxRowTiles x MR rows);
//   panel  of NR columns: its kc x NR chunk comes from the slab (L3) into L2 once and is reused by every
//   tile   of MR rows: the microkernel, which streams its A micro-panel and the panel chunk from L2.
//
// Each element of C is produced by one task with the same K order whatever the thread count, so results are
// bitwise independent of the pool size (and of the slab size, and of whether the weights were pre-packed).
#include "backends/cpu/gemm/float_gemm.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/dtype.hpp"

namespace nd::backends::cpu::gemm {

namespace {

// K chunk. Per k the 14 x 32 AVX-512 tile reads 128 B of panel and 56 B of A for 28 FMAs: 13 B per cycle on
// Zen 5 (two zmm FMAs per cycle), 7 on Zen 4 (one), a fraction of the 64 B per cycle L2 delivers to L1 with
// sequential prefetch, so neither operand needs to sit in L1 and kc is set by the other costs: every chunk
// loads and stores the C tile once more (C of a 4096 x 1280 layer is 21 MB, from DRAM) and repacks A. Measured
// on one Zen 5 core, F32, GFLOP/s at 1024x640x2560 (two runs): kc <= 256: 217, 214; 512: 218, 217; 768: 233,
// 226; 1024: 229, 228 (no change at 256x1280x1280 or 4096x320x1280 beyond noise). 768 takes K = 320, 640
// and 768 (most SD 1.5 projections) in one chunk. K is split into equal chunks (1280 -> 2 x 640).
constexpr std::int64_t kKcMax = 768;
// Row tiles per task at most: the packed A block (168 x 768 floats = 516 KB with MR = 14) stays in the 1 MB L2
// of Zen 4/5 beside the panel chunk (96 KB) passing through.
constexpr std::int64_t kMaxRowTiles = 12;
// Row tiles per task at least, before the planner splits columns instead: a panel chunk brought into L2
// serves this many tiles.
constexpr std::int64_t kMinRowTiles = 4;
// Bytes of packed weights per slab.
constexpr std::int64_t kSlabBytes = std::int64_t{8} << 20;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) noexcept {
    return (a + b - 1) / b;
}

// K is split into this many chunks of equal size (+-1): chunk c is [c * k / chunks, (c + 1) * k / chunks).
std::int64_t k_chunks(std::int64_t k) noexcept {
    return ceil_div(k, kKcMax);
}

struct Plan {
    std::int64_t row_tiles = 0;
    std::int64_t panels = 0;
    std::int64_t row_blocks = 0;
    std::int64_t col_blocks = 0;
};

// Splits (row tiles x panels) into blocks: rows first (a row block's A is packed once per K chunk and reused
// across all its panels, so splitting rows costs nothing but panel reloads from L3), down to kMinRowTiles
// tiles per block; then columns (each column block repacks its rows of A); then rows down to single tiles.
// The goal is four tasks per thread, so that the pool's dynamic hand-out evens out uneven tasks.
Plan plan_tasks(std::int64_t row_tiles, std::int64_t panels, int threads) {
    Plan p;
    p.row_tiles = row_tiles;
    p.panels = panels;
    p.row_blocks = ceil_div(row_tiles, kMaxRowTiles);
    p.col_blocks = 1;
    const std::int64_t target = threads <= 1 ? 1 : 4 * static_cast<std::int64_t>(threads);
    while (p.row_blocks * p.col_blocks < target) {
        if (p.row_blocks < row_tiles && ceil_div(row_tiles, p.row_blocks + 1) >= kMinRowTiles) {
            ++p.row_blocks;
        } else if (p.col_blocks < panels) {
            ++p.col_blocks;
        } else if (p.row_blocks < row_tiles) {
            ++p.row_blocks;
        } else {
            break;
        }
    }
    return p;
}

} // namespace

// The panels of one slab of unpacked weights, each K chunk of each packed once by whichever task needs it
// first: that task claims it (unpacked -> packing), packs it and multiplies by it while it is in its L2; a task
// that finds it being packed waits, which costs at most one chunk's packing (kc x NR conversions, a few
// microseconds) and happens only when two tasks start on the same panel at once (multiply_panels staggers
// where tasks start to make that rare).
class PanelPacker {
public:
    PanelPacker(const MatmulArgs& args, const FloatKernel& kernel, std::int64_t first_panel, std::int64_t panels,
                std::int64_t chunks, float* slab)
        : args_(args), kernel_(kernel), first_panel_(first_panel), chunks_(chunks), slab_(slab),
          state_(std::make_unique<std::atomic<std::uint8_t>[]>(static_cast<std::size_t>(panels * chunks))) {
        for (std::int64_t i = 0; i < panels * chunks; ++i) {
            state_[static_cast<std::size_t>(i)].store(kUnpacked, std::memory_order_relaxed);
        }
    }

    // Returns once K chunk [k0, k0 + kc) (the chunk-th) of panel p of the slab is packed (acquire: its floats
    // are visible to the caller).
    void ensure_packed(std::int64_t p, std::int64_t chunk, std::int64_t k0, std::int64_t kc) const {
        std::atomic<std::uint8_t>& state = state_[static_cast<std::size_t>(p * chunks_ + chunk)];
        if (state.load(std::memory_order_acquire) == kPacked) {
            return;
        }
        std::uint8_t expected = kUnpacked;
        if (state.compare_exchange_strong(expected, kPacking, std::memory_order_acquire)) {
            const std::int64_t nr = kernel_.nr;
            const std::int64_t j = (first_panel_ + p) * nr;
            const auto offset = static_cast<std::int64_t>(core::dtype_size(args_.w_type)) * k0;
            kernel_.pack_panel(args_.w + j * args_.w_row_stride + offset, args_.w_type, args_.w_row_stride,
                               static_cast<int>(std::min(nr, args_.n - j)), kc, slab_ + (p * args_.k + k0) * nr);
            state.store(kPacked, std::memory_order_release);
            return;
        }
        // Spin briefly (a chunk packs in microseconds), then yield: on an oversubscribed machine the packer may
        // be waiting for this very core.
        for (int spins = 0; state.load(std::memory_order_acquire) != kPacked; ++spins) {
#if defined(__x86_64__) || defined(__i386__)
            if (spins < 4096) {
                __builtin_ia32_pause();
                continue;
            }
#endif
            std::this_thread::yield();
        }
    }

private:
    static constexpr std::uint8_t kUnpacked = 0;
    static constexpr std::uint8_t kPacking = 1;
    static constexpr std::uint8_t kPacked = 2;

    const MatmulArgs& args_;
    const FloatKernel& kernel_;
    std::int64_t first_panel_;
    std::int64_t chunks_;
    float* slab_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> state_;
};

const FloatKernel& float_kernel(Isa isa) noexcept {
    switch (isa) {
    case Isa::Avx512: return float_kernel_avx512();
    case Isa::Avx2: return float_kernel_avx2();
    default: return float_kernel_scalar();
    }
}

void multiply_panels(const Operands& op, std::int64_t j0, std::int64_t cols, Panels panels,
                     const FloatKernel& kernel, core::ThreadPool& pool, const PanelPacker* packer) {
    const auto element_bytes = static_cast<std::int64_t>(core::dtype_size(panels.type));
    const auto* panel_bytes = static_cast<const std::byte*>(panels.data);
    const std::int64_t mr = kernel.mr;
    const std::int64_t nr = kernel.nr;
    const Plan plan = plan_tasks(ceil_div(op.m, mr), ceil_div(cols, nr), pool.size());
    const std::int64_t chunks = k_chunks(op.k);
    const std::int64_t kc_max = ceil_div(op.k, chunks);
    const std::int64_t block_rows = ceil_div(plan.row_tiles, plan.row_blocks) * mr;

    // Per-thread A blocks, allocated by the first task a thread runs (threads that get none allocate nothing).
    std::vector<AlignedFloats> scratch(static_cast<std::size_t>(pool.size()));

    pool.run(plan.row_blocks * plan.col_blocks, [&](std::int64_t task, int thread) {
        const std::int64_t rb = task / plan.col_blocks;
        const std::int64_t cb = task % plan.col_blocks;
        const std::int64_t t_begin = rb * plan.row_tiles / plan.row_blocks;
        const std::int64_t t_end = (rb + 1) * plan.row_tiles / plan.row_blocks;
        const std::int64_t p_begin = cb * plan.panels / plan.col_blocks;
        const std::int64_t p_end = (cb + 1) * plan.panels / plan.col_blocks;
        const std::int64_t row_begin = t_begin * mr;
        const std::int64_t rows = std::min(op.m, t_end * mr) - row_begin;

        AlignedFloats& a_block = scratch[static_cast<std::size_t>(thread)];
        if (a_block.data() == nullptr) {
            a_block = AlignedFloats(static_cast<std::size_t>(block_rows * kc_max + kPackSlack));
        }

        TileArgs t;
        t.ldc = op.ldc;
        for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
            const std::int64_t k0 = chunk * op.k / chunks;
            const std::int64_t kc = (chunk + 1) * op.k / chunks - k0;
            kernel.pack_a(op.a + row_begin * op.lda + k0, op.lda, rows, kc, a_block.data());
            const bool first = chunk == 0;
            t.kc = kc;
            t.add_to_c = !first || op.accumulate;
            // Row blocks sharing a column block start at evenly spaced panels, so that when they run at once
            // each packs its own share of the panels rather than waiting for one another. (The order of panels
            // changes nothing in any element of C.)
            const std::int64_t count = p_end - p_begin;
            const std::int64_t start = packer != nullptr ? rb * count / plan.row_blocks : 0;
            for (std::int64_t q = 0; q < count; ++q) {
                const std::int64_t p = p_begin + (start + q) % count;
                if (packer != nullptr) {
                    packer->ensure_packed(p, chunk, k0, kc);
                }
                const std::int64_t col = j0 + p * nr;
                t.nr = static_cast<int>(std::min(nr, j0 + cols - col));
                t.panel = panel_bytes + (p * op.k + k0) * nr * element_bytes;
                t.panel_type = panels.type;
                t.bias = first && op.bias != nullptr ? op.bias + col : nullptr;
                for (std::int64_t i = 0; i < rows; i += mr) {
                    t.mr = static_cast<int>(std::min(mr, rows - i));
                    t.a = a_block.data() + i * kc;
                    t.c = op.c + (row_begin + i) * op.ldc + col;
                    kernel.tile(t);
                }
            }
        }
    });
}

void float_matmul(const MatmulArgs& args, core::ThreadPool& pool, Isa isa) {
    const FloatKernel& kernel = float_kernel(isa);
    const std::int64_t nr = kernel.nr;
    const std::int64_t panel_floats = args.k * nr;
    const std::int64_t panels = ceil_div(args.n, nr);
    const std::int64_t slab_panels =
        std::min(panels, std::max<std::int64_t>(1, kSlabBytes / (panel_floats * std::int64_t{sizeof(float)})));
    AlignedFloats slab(static_cast<std::size_t>(slab_panels * panel_floats));

    Operands op;
    op.m = args.m;
    op.n = args.n;
    op.k = args.k;
    op.a = args.a;
    op.lda = args.lda;
    op.bias = args.bias;
    op.c = args.c;
    op.ldc = args.ldc;
    op.accumulate = args.accumulate;
    for (std::int64_t s = 0; s < panels; s += slab_panels) {
        const std::int64_t count = std::min(slab_panels, panels - s);
        const PanelPacker packer(args, kernel, s, count, k_chunks(args.k), slab.data());
        const std::int64_t j0 = s * nr;
        multiply_panels(op, j0, std::min(args.n - j0, count * nr), Panels{slab.data(), ND_DTYPE_F32}, kernel, pool,
                        &packer);
    }
}

} // namespace nd::backends::cpu::gemm
