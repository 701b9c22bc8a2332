#include "core/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace nd::core {
namespace {

TEST(ThreadPool, Runs_every_task_exactly_once_with_thread_indices_in_range) {
    ThreadPool pool(3);
    ASSERT_EQ(pool.size(), 3);
    for (int round = 0; round < 50; ++round) { // the same pool serves many jobs, as it does per UNet step
        std::vector<std::atomic<int>> hits(1000);
        std::atomic<bool> bad_thread{false};
        pool.run(1000, [&](std::int64_t task, int thread) {
            hits[static_cast<std::size_t>(task)].fetch_add(1);
            if (thread < 0 || thread >= 3) {
                bad_thread = true;
            }
        });
        for (auto& h : hits) {
            ASSERT_EQ(h.load(), 1);
        }
        EXPECT_FALSE(bad_thread.load());
    }
}

TEST(ThreadPool, Parallel_for_covers_the_range_without_overlap) {
    ThreadPool pool(2);
    std::vector<int> seen(12345, 0);
    pool.parallel_for(12345, 7, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t i = begin; i < end; ++i) {
            ++seen[static_cast<std::size_t>(i)];
        }
    });
    for (int s : seen) {
        ASSERT_EQ(s, 1);
    }
}

TEST(ThreadPool, A_throwing_task_is_rethrown_to_the_caller_and_the_pool_stays_usable) {
    ThreadPool pool(2);
    EXPECT_THROW(pool.run(100, [](std::int64_t task, int) {
        if (task == 37) {
            throw std::runtime_error("task 37 failed");
        }
    }), std::runtime_error);
    std::atomic<int> count{0};
    pool.run(10, [&](std::int64_t, int) { ++count; });
    EXPECT_EQ(count.load(), 10);
}

TEST(ThreadPool, Size_one_runs_inline_and_zero_means_physical_cores) {
    ThreadPool inline_pool(1);
    EXPECT_EQ(inline_pool.size(), 1);
    int sum = 0; // no atomics needed: everything runs on this thread
    inline_pool.run(5, [&](std::int64_t task, int thread) {
        EXPECT_EQ(thread, 0);
        sum += static_cast<int>(task);
    });
    EXPECT_EQ(sum, 10);
    ThreadPool default_pool;
    EXPECT_GE(default_pool.size(), 1);
}

} // namespace
} // namespace nd::core
