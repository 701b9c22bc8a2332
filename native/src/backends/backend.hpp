// The backend interface: what runs a planned graph, on the CPU today and on GPUs (Vulkan, CUDA) later.
//
// A backend says which ops it runs (supports), how much scratch each needs (scratch_bytes), gives out
// device buffers (allocate; a buffer's upload and download may be asynchronous), makes a graph's weights
// resident once (upload_weights), and runs a range of a plan's steps against an arena buffer (submit),
// returning a Submission to wait on. It never sees a model: only graphs, plans and buffers.
//
// Several backends can run one plan: plan_for() places each op on the first backend that supports it (a
// GPU backend first, the CPU after it to take what the GPU lacks), and Executor runs the plan, giving each
// backend an arena of the plan's size (same offsets everywhere) and copying a value to another backend's
// arena only when a step there reads it. The CPU backend is backends/cpu/cpu_backend.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/graph.hpp"
#include "core/planner.hpp"
#include "core/tensor.hpp"
#include "native_diffusion.h"

namespace nd::backends {

// The completion of work handed to a backend: a kernel run, an upload, a download.
class Submission {
public:
    // What an asynchronous backend implements (a Vulkan fence, a CUDA event).
    class Event {
    public:
        virtual ~Event() = default;
        virtual bool ready() = 0;
        // Blocks until the work is done; throws what the work failed with (an nd::core::Error).
        virtual void wait() = 0;
    };

    Submission() noexcept = default; // already complete
    explicit Submission(std::shared_ptr<Event> event) noexcept : event_(std::move(event)) {}
    // A submission whose work already failed: wait() rethrows `error`.
    static Submission failed(std::exception_ptr error);

    [[nodiscard]] bool ready() const { return event_ == nullptr || event_->ready(); }
    // Waits for the work; rethrows its failure. May be called more than once.
    void wait() const {
        if (event_ != nullptr) {
            event_->wait();
        }
    }

private:
    std::shared_ptr<Event> event_;
};

// Memory on a backend's device.
class BackendBuffer {
public:
    virtual ~BackendBuffer() = default;
    [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
    // The memory's host address when the device uses host memory (the CPU, unified-memory GPUs), so that
    // data moves without copies; nullptr otherwise.
    [[nodiscard]] virtual std::byte* host_data() noexcept = 0;
    // Copies `bytes` to [offset, offset + bytes.size()). May return before the copy is done: `bytes` must
    // stay valid until the submission completes. Throws Error(ND_STATUS_INVALID_ARGUMENT) out of range.
    virtual Submission upload(std::uint64_t offset, std::span<const std::byte> bytes) = 0;
    // Copies [offset, offset + bytes.size()) to `bytes`, which must stay valid until the submission completes.
    virtual Submission download(std::uint64_t offset, std::span<std::byte> bytes) = 0;
};

// Plain host memory (64-byte aligned, zero-filled): the CPU's buffers, and staging for the others.
class HostBuffer final : public BackendBuffer {
public:
    explicit HostBuffer(std::uint64_t bytes);
    [[nodiscard]] std::uint64_t size() const noexcept override { return storage_->size(); }
    [[nodiscard]] std::byte* host_data() noexcept override { return storage_->data(); }
    Submission upload(std::uint64_t offset, std::span<const std::byte> bytes) override;
    Submission download(std::uint64_t offset, std::span<std::byte> bytes) override;
    // The memory, for tensors that view it (core::Plan::tensor).
    [[nodiscard]] const std::shared_ptr<core::Storage>& storage() const noexcept { return storage_; }

private:
    std::shared_ptr<core::Storage> storage_;
};

struct BackendCapabilities {
    nd_backend_flags kind = ND_BACKEND_FLAGS_CPU;
    std::string device;            // "x86-64, avx512, 8 threads"; a GPU's name
    bool host_memory = false;      // buffers are host memory (host_data() is never null)
    bool asynchronous = false;     // submit() may return before the work is done
    bool weights_in_place = false; // weights are read where they lie (a mapped file), never copied
    std::uint64_t memory_bytes = 0; // device memory; 0 when it is the host's
    int threads = 1;
};

class Backend {
public:
    virtual ~Backend() = default;

    [[nodiscard]] virtual std::string_view name() const noexcept = 0; // "cpu", "vulkan", "cuda"
    [[nodiscard]] virtual BackendCapabilities capabilities() const = 0;

    // Whether this backend runs `op` with these operand dtypes (the node's operands in order, absent
    // optional operands left out) and output dtype.
    [[nodiscard]] virtual bool supports(core::OpKind op, std::span<const nd_dtype> operand_dtypes,
                                        nd_dtype output) const = 0;
    // The same question for a node of a graph, where a backend may also look at shapes and parameters
    // (a kernel without dilation, say). The default asks the question above.
    [[nodiscard]] virtual bool supports(const core::Graph& graph, core::ValueId node) const;

    // Scratch bytes the node needs while it runs here; the planner puts them in the arena.
    [[nodiscard]] virtual std::uint64_t scratch_bytes(const core::Graph& graph, core::ValueId node) const {
        (void)graph;
        (void)node;
        return 0;
    }

    // A buffer of `bytes` on the device. Throws Error(ND_STATUS_OUT_OF_MEMORY).
    virtual std::unique_ptr<BackendBuffer> allocate(std::uint64_t bytes) = 0;

    // Makes resident the weights read by the steps of `plan` placed on `device` (this backend's index in
    // the executor's list). Each weight is uploaded at most once per backend, however many plans use it.
    virtual void upload_weights(const core::Plan& plan, int device) = 0;

    // Runs steps [first, last) of `plan`, all placed on this backend, with `arena` (at least
    // plan.peak_bytes()) holding the values at the plan's offsets. Operands must already be in the arena.
    // Errors surface from the returned submission's wait() (or are thrown here for bad arguments).
    virtual Submission submit(const core::Plan& plan, std::size_t first, std::size_t last, BackendBuffer& arena) = 0;
};

// Device copies of weights, keyed by the weight's memory, for backends that cannot read host memory:
// each weight is uploaded once and kept (with its host storage, so that the key cannot be reused) as long
// as the cache lives.
class WeightCache {
public:
    // The device buffer holding `weight`'s packed bytes, uploaded through `backend` on first use.
    BackendBuffer& get(Backend& backend, const core::Tensor& weight);
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    [[nodiscard]] std::uint64_t uploaded_bytes() const noexcept { return uploaded_bytes_; }

private:
    struct Entry {
        std::shared_ptr<core::Storage> storage; // pins the key
        std::unique_ptr<BackendBuffer> buffer;
    };
    std::map<std::pair<const std::byte*, std::uint64_t>, Entry> entries_;
    std::uint64_t uploaded_bytes_ = 0;
};

// Plans `graph` for `backends`, in order of preference: each compute node goes to the first backend that
// supports it, scratch is what that backend asks for. Throws Error(ND_STATUS_UNSUPPORTED) naming the node
// and its operand dtypes when no backend runs it.
core::Plan plan_for(core::Graph graph, std::span<Backend* const> backends, core::PlanOptions options = {});
core::Plan plan_for(core::Graph graph, Backend& backend, core::PlanOptions options = {});

// Runs plans on a list of backends, keeping one arena per backend between runs (a denoising loop runs
// the same plan many times).
class Executor {
public:
    // The backends a plan's placements index; they must outlive the executor.
    explicit Executor(std::vector<Backend*> backends);
    explicit Executor(Backend& backend) : Executor(std::vector<Backend*>{&backend}) {}

    // Runs `plan` with `inputs` (in the order of the graph's inputs, dtypes and shapes as declared, any
    // strides) and returns the outputs as packed host tensors, in mark_output order. Throws
    // Error(ND_STATUS_INVALID_ARGUMENT) for inputs that do not match, and whatever a backend fails with.
    std::vector<core::Tensor> run(const core::Plan& plan, std::span<const core::Tensor> inputs);
    std::vector<core::Tensor> run(const core::Plan& plan, std::initializer_list<core::Tensor> inputs) {
        return run(plan, std::span<const core::Tensor>(inputs.begin(), inputs.size()));
    }

    // Bytes copied between backends during the last run (0 when one backend runs everything).
    [[nodiscard]] std::uint64_t transferred_bytes() const noexcept { return transferred_bytes_; }

    // Steps submitted between two calls of the interrupt check.
    static constexpr std::size_t kStepsBetweenInterrupts = 8;

    // While set, `check` is called before every kStepsBetweenInterrupts steps of a run; whatever it throws
    // (a cancel) ends the run there and reaches the caller. Nothing outlives the interrupted run: the next run
    // starts afresh. An empty function removes the check.
    void set_interrupt(std::function<void()> check) { interrupt_ = std::move(check); }

private:
    BackendBuffer& arena(int device, std::uint64_t bytes);

    std::vector<Backend*> backends_;
    std::vector<std::unique_ptr<BackendBuffer>> arenas_;
    std::uint64_t transferred_bytes_ = 0;
    std::function<void()> interrupt_;
};

} // namespace nd::backends
