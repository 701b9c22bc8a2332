// Plans a graph's memory before it runs: one arena, shared by every value whose lifetime does not overlap.
//
// The plan fixes the order of the compute steps (the graph's build order, which is topological because an
// operand always exists before its user; nodes no output depends on are dropped), the lifetime of every
// value in steps (from the step that writes it to the last step that reads it or any view of it; inputs
// from step 0, outputs to the last step), and an offset in one arena for each allocation:
//
//   - graph inputs and compute outputs are allocations; views alias their base (and keep it alive as long
//     as they are read); weights are not in the arena (a backend holds them, uploaded once);
//   - an element-wise op, group norm or layer norm may write over an operand that dies at that step (same
//     shape and dtype, packed): its output then shares the operand's allocation, which lives on;
//   - per-op scratch that a device asks for (attention's per-thread tiles, conv's im2col tile, a packed copy
//     of a strided operand) is an allocation that lives for its one step;
//   - offsets are assigned greedily, largest allocation first, each into the best-fitting gap left by the
//     allocations already placed whose lifetimes overlap its own (64-byte aligned).
//
// peak_bytes() is the arena's size; lower_bound_bytes() is the most bytes ever live at one step, which no
// placement can beat, so tests can check that the greedy placement stays close to it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/tensor_view.hpp"

namespace nd::core {

struct PlanOptions {
    // Bytes of scratch a compute node needs while it runs; none when empty. Asked once per step.
    std::function<std::uint64_t(const Graph&, ValueId)> scratch_bytes;
    // Which device (an index into the executor's list of backends) runs a compute node; all on device 0
    // when empty. Values that cross devices are copied by the executor (backends/backend.hpp).
    std::function<int(const Graph&, ValueId)> placement;
    // Whether element-wise ops and normalizations may reuse the memory of an operand that dies at their step.
    bool in_place = true;
    std::uint64_t alignment = 64; // a power of two
};

// Steps [first, last], inclusive.
struct Lifetime {
    int first = 0;
    int last = 0;

    [[nodiscard]] bool overlaps(const Lifetime& other) const noexcept {
        return first <= other.last && other.first <= last;
    }
};

struct Allocation {
    std::uint64_t offset = 0; // in the arena, aligned
    std::uint64_t bytes = 0;  // rounded up to the alignment
    Lifetime lifetime;
    ValueId owner;        // the value that first holds it (the node whose step needs it, for scratch)
    bool scratch = false; // per-op scratch rather than a value
};

struct Step {
    ValueId value; // the compute node this step runs
    int device = 0;
    int scratch = -1;     // index into allocations(), or -1
    ValueId in_place_of;  // the operand whose memory the output reuses, if any
};

class Plan {
public:
    [[nodiscard]] const Graph& graph() const noexcept { return graph_; }
    [[nodiscard]] std::span<const Step> steps() const noexcept { return steps_; }
    [[nodiscard]] std::span<const Allocation> allocations() const noexcept { return allocations_; }

    // The arena size this plan needs.
    [[nodiscard]] std::uint64_t peak_bytes() const noexcept { return peak_bytes_; }
    // The most bytes live at any one step: no placement of these allocations can use less.
    [[nodiscard]] std::uint64_t lower_bound_bytes() const noexcept { return lower_bound_bytes_; }
    // The bytes every allocation would take if nothing shared memory.
    [[nodiscard]] std::uint64_t total_bytes() const noexcept { return total_bytes_; }

    // Whether the plan computes or holds the value (false for nodes no output depends on).
    [[nodiscard]] bool is_live(ValueId value) const;
    // Whether the value (or the base of a view) lives in the arena; false for weights and their views.
    [[nodiscard]] bool in_arena(ValueId value) const;
    // The allocation holding the value's memory (views: their base's); throws if not in the arena.
    [[nodiscard]] const Allocation& allocation(ValueId value) const;
    // Byte offset of the value's first element in the arena (a view's own offset included).
    [[nodiscard]] std::uint64_t offset(ValueId value) const;
    // The step that computes the value, or -1 for inputs, weights and views.
    [[nodiscard]] int step_of(ValueId value) const;

    // The kernel's window on a value when the arena starts at `arena` (weights: their own memory).
    [[nodiscard]] TensorView view(ValueId value, std::byte* arena) const;
    // The value as a tensor over a slice of `arena` (host memory holding this plan's arena, which the tensor
    // keeps alive); weights give their own tensor. Valid until a later step reuses the memory. For reading
    // intermediate values back after a run on a host backend.
    [[nodiscard]] Tensor tensor(ValueId value, const std::shared_ptr<Storage>& arena) const;

    // One line per step: op, name, shape, offset, lifetime; then the totals. For logs and debugging.
    [[nodiscard]] std::string describe() const;

private:
    friend Plan plan_graph(Graph graph, const PlanOptions& options);

    Graph graph_;
    std::vector<Step> steps_;
    std::vector<Allocation> allocations_;
    std::vector<int> allocation_of_; // per value; -1 when not in the arena
    std::vector<int> step_of_;       // per value; -1 unless computed by a step
    std::vector<bool> live_;         // per value
    std::uint64_t peak_bytes_ = 0;
    std::uint64_t lower_bound_bytes_ = 0;
    std::uint64_t total_bytes_ = 0;
};

// Plans `graph` (which the plan then owns). Throws Error(ND_STATUS_INVALID_ARGUMENT) when the graph has
// no outputs.
Plan plan_graph(Graph graph, const PlanOptions& options = {});

// Whether `op` may write its output over operand `operand`: element-wise ops whose output element i only
// depends on operand element i, and group and layer norm's input (every backend's kernel must read a
// group's or row's statistics before writing any of it).
bool op_can_run_in_place(OpKind op, int operand) noexcept;

} // namespace nd::core
