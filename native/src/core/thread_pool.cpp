#include "core/thread_pool.hpp"

#include <algorithm>

#include "core/system_info.hpp"

namespace nd::core {

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) {
        threads = static_cast<int>(std::max<std::uint32_t>(1, query_system_info().physical_cores));
    }
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int t = 1; t < threads; ++t) {
        workers_.emplace_back([this, t] { worker_loop(t); });
    }
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) {
        worker.join();
    }
}

std::int64_t ThreadPool::chunk_size(std::int64_t n, std::int64_t grain) const noexcept {
    const std::int64_t target_chunks = static_cast<std::int64_t>(size()) * 4;
    return std::max<std::int64_t>({grain, 1, (n + target_chunks - 1) / target_chunks});
}

void ThreadPool::work(int thread) {
    for (;;) {
        const std::int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= job_tasks_) {
            return;
        }
        if (failed_.load(std::memory_order_relaxed)) {
            continue; // drain the remaining tasks without running them
        }
        try {
            job_trampoline_(job_fn_, task, thread);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!failed_.exchange(true)) {
                error_ = std::current_exception();
            }
        }
    }
}

void ThreadPool::run_erased(std::int64_t tasks, void* fn, Trampoline trampoline) {
    if (tasks <= 0) {
        return;
    }
    if (workers_.empty() || tasks == 1) {
        for (std::int64_t task = 0; task < tasks; ++task) {
            trampoline(fn, task, 0);
        }
        return;
    }
    {
        std::lock_guard lock(mutex_);
        job_fn_ = fn;
        job_trampoline_ = trampoline;
        job_tasks_ = tasks;
        next_task_.store(0, std::memory_order_relaxed);
        failed_.store(false, std::memory_order_relaxed);
        error_ = nullptr;
        busy_workers_ = static_cast<int>(workers_.size());
        ++generation_;
    }
    wake_.notify_all();
    work(0);
    std::exception_ptr error;
    {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return busy_workers_ == 0; });
        error = std::exchange(error_, nullptr);
    }
    if (error) {
        std::rethrow_exception(error);
    }
}

void ThreadPool::worker_loop(int thread) {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) {
                return;
            }
            seen = generation_;
        }
        work(thread);
        {
            std::lock_guard lock(mutex_);
            --busy_workers_;
        }
        done_.notify_one();
    }
}

} // namespace nd::core
