// A persistent pool of worker threads that kernels split their work across.
//
// Threads are created once (per model or context) and park between jobs, because SD runs thousands of
// short ops per step and thread start-up would cost more than many of them. The calling thread takes part
// in every job, so a pool of size 1 runs everything inline with no other thread at all.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace nd::core {

class ThreadPool {
public:
    // `threads` counts the caller; 0 means the machine's physical core count (hyper-threads share the FMA
    // units that the kernels saturate, so they rarely help).
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    [[nodiscard]] int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(task, thread) for every task in [0, tasks), spread over the pool (tasks are handed out one at
    // a time, so uneven tasks balance), and returns when all are done. `thread` is in [0, size()) and is
    // stable for the duration of one call: kernels index per-thread scratch with it. If tasks throw, the
    // first exception is rethrown here after every task has finished or been skipped.
    // Not re-entrant: a task must not call run() on the same pool. One caller at a time.
    template <typename Fn>
    void run(std::int64_t tasks, Fn&& fn) {
        using F = std::remove_reference_t<Fn>;
        run_erased(tasks, &fn, [](void* f, std::int64_t task, int thread) { (*static_cast<F*>(f))(task, thread); });
    }

    // Splits [0, n) into about size() * 4 contiguous chunks of at least `grain` items and calls
    // fn(begin, end, thread) for each.
    template <typename Fn>
    void parallel_for(std::int64_t n, std::int64_t grain, Fn&& fn) {
        if (n <= 0) {
            return;
        }
        const std::int64_t chunk = chunk_size(n, grain);
        const std::int64_t chunks = (n + chunk - 1) / chunk;
        run(chunks, [&](std::int64_t c, int thread) {
            const std::int64_t begin = c * chunk;
            const std::int64_t end = begin + chunk < n ? begin + chunk : n;
            fn(begin, end, thread);
        });
    }

private:
    using Trampoline = void (*)(void*, std::int64_t, int);

    void run_erased(std::int64_t tasks, void* fn, Trampoline trampoline);
    void work(int thread);
    void worker_loop(int thread);
    [[nodiscard]] std::int64_t chunk_size(std::int64_t n, std::int64_t grain) const noexcept;

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;

    // The current job; written under mutex_ before generation_ is bumped.
    void* job_fn_ = nullptr;
    Trampoline job_trampoline_ = nullptr;
    std::int64_t job_tasks_ = 0;
    std::atomic<std::int64_t> next_task_{0};
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;
    std::uint64_t generation_ = 0;
    int busy_workers_ = 0;
    bool stopping_ = false;
};

} // namespace nd::core
