// The loop behind every elementwise-shaped op: walks N views of one (broadcast) shape row by row along the
// innermost dimension, after merging dimensions that are contiguous in every view (a contiguous
// [1, 320, 64, 64] becomes one run of 1.3M elements, not 20480 rows of 64), and splits the work over the
// pool in pieces of about kPieceElements elements, cutting long rows too. Strides are in bytes; a broadcast
// dimension has stride 0 in the view that is broadcast.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

template <int N>
struct StridedLoop {
    int rank = 0; // 1..4 after merging; shape[rank - 1] is the row length
    std::array<std::int64_t, core::kMaxDims> shape{};
    std::array<std::array<std::int64_t, core::kMaxDims>, N> strides{}; // strides[view][dim], bytes
    std::array<std::byte*, N> data{};
};

// Elements per task: small enough to balance, large enough that the task hand-out costs nothing.
inline constexpr std::int64_t kPieceElements = 16384;

// `shape` is the iteration shape (rank 0..4); views[i] must have that rank with shapes equal or, where
// `broadcast` is set, 1 (its stride is then ignored and read as 0).
template <int N>
StridedLoop<N> make_strided_loop(const core::TensorView& shape, const std::array<core::TensorView, N>& views) {
    StridedLoop<N> loop;
    // Dimensions of size 1 carry no elements; drop them (their strides are anything).
    for (int d = 0; d < shape.rank; ++d) {
        const std::int64_t size = shape.dim(d);
        if (size == 1) {
            continue;
        }
        const int at = loop.rank++;
        loop.shape[static_cast<std::size_t>(at)] = size;
        for (int i = 0; i < N; ++i) {
            const core::TensorView& v = views[static_cast<std::size_t>(i)];
            loop.strides[static_cast<std::size_t>(i)][static_cast<std::size_t>(at)] = v.dim(d) == 1 ? 0 : v.stride(d);
        }
    }
    if (loop.rank == 0) { // a single element
        loop.rank = 1;
        loop.shape[0] = 1;
    }
    // Merge an outer dimension into the next inner one when every view steps over it contiguously.
    int merged = 0;
    for (int d = 0; d < loop.rank; ++d) {
        if (merged > 0) {
            bool contiguous = true;
            for (int i = 0; i < N && contiguous; ++i) {
                const auto& s = loop.strides[static_cast<std::size_t>(i)];
                contiguous = s[static_cast<std::size_t>(merged - 1)] == s[static_cast<std::size_t>(d)] * loop.shape[static_cast<std::size_t>(d)];
            }
            if (contiguous) {
                loop.shape[static_cast<std::size_t>(merged - 1)] *= loop.shape[static_cast<std::size_t>(d)];
                for (int i = 0; i < N; ++i) {
                    auto& s = loop.strides[static_cast<std::size_t>(i)];
                    s[static_cast<std::size_t>(merged - 1)] = s[static_cast<std::size_t>(d)];
                }
                continue;
            }
        }
        loop.shape[static_cast<std::size_t>(merged)] = loop.shape[static_cast<std::size_t>(d)];
        for (int i = 0; i < N; ++i) {
            auto& s = loop.strides[static_cast<std::size_t>(i)];
            s[static_cast<std::size_t>(merged)] = s[static_cast<std::size_t>(d)];
        }
        ++merged;
    }
    loop.rank = merged;
    for (int i = 0; i < N; ++i) {
        loop.data[static_cast<std::size_t>(i)] = views[static_cast<std::size_t>(i)].data;
    }
    return loop;
}

// Calls fn(pointers, inner_strides, count) for runs of at most kPieceElements elements along the innermost
// dimension; pointers[i] is the first element of view i in the run and inner_strides[i] its byte stride
// there. With a pool the runs are spread over it; without one they run in order on the caller.
template <int N, typename Fn>
void for_each_run(const StridedLoop<N>& loop, core::ThreadPool* pool, Fn&& fn) {
    const int r = loop.rank;
    const std::int64_t inner = loop.shape[static_cast<std::size_t>(r - 1)];
    std::int64_t rows = 1;
    for (int d = 0; d + 1 < r; ++d) {
        rows *= loop.shape[static_cast<std::size_t>(d)];
    }
    const std::int64_t pieces_per_row = (inner + kPieceElements - 1) / kPieceElements;
    const std::int64_t piece = (inner + pieces_per_row - 1) / pieces_per_row;
    std::array<std::int64_t, N> inner_strides{};
    for (int i = 0; i < N; ++i) {
        inner_strides[static_cast<std::size_t>(i)] = loop.strides[static_cast<std::size_t>(i)][static_cast<std::size_t>(r - 1)];
    }
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t task = begin; task < end; ++task) {
            std::int64_t row = task / pieces_per_row;
            const std::int64_t start = (task % pieces_per_row) * piece;
            const std::int64_t count = start + piece < inner ? piece : inner - start;
            std::array<std::byte*, N> p = loop.data;
            for (int d = r - 2; d >= 0; --d) {
                const std::int64_t size = loop.shape[static_cast<std::size_t>(d)];
                const std::int64_t index = row % size;
                row /= size;
                for (int i = 0; i < N; ++i) {
                    p[static_cast<std::size_t>(i)] += index * loop.strides[static_cast<std::size_t>(i)][static_cast<std::size_t>(d)];
                }
            }
            for (int i = 0; i < N; ++i) {
                p[static_cast<std::size_t>(i)] += start * inner_strides[static_cast<std::size_t>(i)];
            }
            fn(p, inner_strides, count);
        }
    };
    const std::int64_t tasks = rows * pieces_per_row;
    if (pool == nullptr || tasks * piece <= kPieceElements) {
        run(0, tasks);
        return;
    }
    const std::int64_t grain = piece >= kPieceElements ? 1 : kPieceElements / piece;
    pool->parallel_for(tasks, grain, [&](std::int64_t begin, std::int64_t end, int) { run(begin, end); });
}

} // namespace nd::backends::cpu::ops
