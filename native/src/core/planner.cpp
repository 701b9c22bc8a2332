#include "core/planner.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::core {

namespace {

std::size_t at(ValueId value) noexcept { return static_cast<std::size_t>(value.index); }

std::uint64_t align_up(std::uint64_t bytes, std::uint64_t alignment) {
    if (bytes > std::numeric_limits<std::uint64_t>::max() - alignment) {
        throw_error(ND_STATUS_OUT_OF_MEMORY, "an allocation of {} bytes overflows the arena", bytes);
    }
    return (bytes + alignment - 1) & ~(alignment - 1);
}

// Whether `operand`'s memory can become `out`'s: exactly the same packed bytes.
bool same_packed_layout(const Layout& operand, const Layout& out) {
    return operand.dtype == out.dtype && operand.shape == out.shape && operand.offset == 0 && operand.is_contiguous();
}

bool same_view(const Layout& a, const Layout& b) {
    if (a.dtype != b.dtype || !(a.shape == b.shape) || a.offset != b.offset) {
        return false;
    }
    for (int d = 0; d < a.rank(); ++d) {
        if (a.shape[d] != 1 && a.strides[static_cast<std::size_t>(d)] != b.strides[static_cast<std::size_t>(d)]) {
            return false;
        }
    }
    return true;
}

// Greedy placement: largest first, each into the smallest gap among the overlapping allocations already
// placed (or above them all). Returns the arena size.
std::uint64_t assign_offsets(std::vector<Allocation>& allocations) {
    std::vector<std::size_t> order(allocations.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (allocations[a].bytes != allocations[b].bytes) {
            return allocations[a].bytes > allocations[b].bytes;
        }
        return allocations[a].lifetime.first < allocations[b].lifetime.first;
    });
    std::vector<std::size_t> placed;
    std::vector<std::size_t> overlapping;
    std::uint64_t peak = 0;
    for (const std::size_t index : order) {
        Allocation& allocation = allocations[index];
        if (allocation.bytes == 0) {
            allocation.offset = 0;
            continue;
        }
        overlapping.clear();
        for (const std::size_t other : placed) {
            if (allocations[other].lifetime.overlaps(allocation.lifetime)) {
                overlapping.push_back(other);
            }
        }
        std::sort(overlapping.begin(), overlapping.end(),
                  [&](std::size_t a, std::size_t b) { return allocations[a].offset < allocations[b].offset; });
        std::uint64_t best_offset = 0;
        std::uint64_t best_gap = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t low = 0; // the first byte above everything seen so far
        for (const std::size_t other : overlapping) {
            const Allocation& o = allocations[other];
            if (o.offset > low) {
                const std::uint64_t gap = o.offset - low;
                if (gap >= allocation.bytes && gap < best_gap) {
                    best_gap = gap;
                    best_offset = low;
                }
            }
            low = std::max(low, o.offset + o.bytes);
        }
        allocation.offset = best_gap != std::numeric_limits<std::uint64_t>::max() ? best_offset : low;
        peak = std::max(peak, allocation.offset + allocation.bytes);
        placed.push_back(index);
    }
    return peak;
}

} // namespace

bool op_can_run_in_place(OpKind op, int operand) noexcept {
    switch (op) {
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div: return operand == 0 || operand == 1;
    case OpKind::Scale:
    case OpKind::Clamp:
    case OpKind::Silu:
    case OpKind::Gelu:
    case OpKind::QuickGelu: return operand == 0;
    // A group's (row's) statistics are read in full before any of it is written, so the normalized values
    // may replace the input: in the VAE decoder this spares a full-resolution activation.
    case OpKind::GroupNorm:
    case OpKind::LayerNorm: return operand == 0;
    default: return false;
    }
}

Plan plan_graph(Graph graph, const PlanOptions& options) {
    if (options.alignment == 0 || (options.alignment & (options.alignment - 1)) != 0) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "plan alignment {} is not a power of two", options.alignment);
    }
    if (graph.outputs().empty()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "a graph of {} nodes has no outputs to plan for; mark_output() one",
                    graph.size());
    }
    Plan plan;
    plan.graph_ = std::move(graph);
    const Graph& g = plan.graph_;
    const std::size_t n = g.size();
    const std::span<const Node> nodes = g.nodes();

    // Liveness in the graph: what the outputs depend on. Build order is topological, so one backward pass.
    plan.live_.assign(n, false);
    for (const ValueId out : g.outputs()) {
        plan.live_[at(out)] = true;
    }
    for (std::size_t i = n; i-- > 0;) {
        if (!plan.live_[i]) {
            continue;
        }
        for (const ValueId operand : nodes[i].inputs) {
            if (operand.valid()) {
                plan.live_[at(operand)] = true;
            }
        }
    }

    // Steps in build order.
    plan.step_of_.assign(n, -1);
    for (std::size_t i = 0; i < n; ++i) {
        const Node& node = nodes[i];
        if (!plan.live_[i] || node.op == OpKind::Input || node.op == OpKind::Weight || op_is_view(node.op)) {
            continue;
        }
        Step step;
        step.value = ValueId{static_cast<std::int32_t>(i)};
        step.device = options.placement ? options.placement(g, step.value) : 0;
        plan.step_of_[i] = static_cast<int>(plan.steps_.size());
        plan.steps_.push_back(step);
    }
    const int step_count = static_cast<int>(plan.steps_.size());
    const int end = std::max(step_count - 1, 0);

    // Last use of each base's memory: the last step reading it or a view of it; outputs keep theirs to the end.
    std::vector<int> last_use(n, -1);
    for (int s = 0; s < step_count; ++s) {
        for (const ValueId operand : nodes[at(plan.steps_[static_cast<std::size_t>(s)].value)].inputs) {
            if (operand.valid()) {
                last_use[at(nodes[at(operand)].base)] = s;
            }
        }
    }
    std::vector<bool> holds_output(n, false); // never written over in place
    for (const ValueId out : g.outputs()) {
        last_use[at(nodes[at(out)].base)] = end;
        holds_output[at(nodes[at(out)].base)] = true;
    }
    auto in_arena = [&](ValueId base) { return nodes[at(base)].op != OpKind::Weight; };

    // Allocations for inputs (live from step 0), then for each step's output, in-place where allowed.
    plan.allocation_of_.assign(n, -1);
    std::vector<Allocation>& allocations = plan.allocations_;
    std::vector<bool> pinned; // per allocation: holds an output, so nothing may write over it
    auto new_allocation = [&](ValueId owner, std::uint64_t bytes, Lifetime lifetime, bool scratch) {
        pinned.push_back(!scratch && holds_output[at(owner)]);
        Allocation allocation;
        allocation.bytes = align_up(bytes, options.alignment);
        allocation.lifetime = lifetime;
        allocation.owner = owner;
        allocation.scratch = scratch;
        allocations.push_back(allocation);
        return static_cast<int>(allocations.size() - 1);
    };
    for (const ValueId input : g.inputs()) {
        if (plan.live_[at(input)]) {
            plan.allocation_of_[at(input)] =
                new_allocation(input, nodes[at(input)].layout.packed_bytes(), {0, std::max(last_use[at(input)], 0)}, false);
        }
    }
    for (int s = 0; s < step_count; ++s) {
        Step& step = plan.steps_[static_cast<std::size_t>(s)];
        const Node& node = nodes[at(step.value)];
        const Lifetime lifetime{s, std::max(last_use[at(step.value)], s)};
        int reused = -1;
        if (options.in_place) {
            for (int k = 0; k < static_cast<int>(node.inputs.size()) && reused < 0; ++k) {
                const ValueId operand = node.inputs[static_cast<std::size_t>(k)];
                if (!operand.valid() || !op_can_run_in_place(node.op, k)) {
                    continue;
                }
                const ValueId base = nodes[at(operand)].base;
                const int candidate = plan.allocation_of_[at(base)];
                if (candidate < 0 || !in_arena(base) || pinned[static_cast<std::size_t>(candidate)] ||
                    allocations[static_cast<std::size_t>(candidate)].lifetime.last != s ||
                    !same_packed_layout(nodes[at(operand)].layout, node.layout)) {
                    continue;
                }
                // Every other operand in the same memory must be read exactly where this one is.
                bool safe = true;
                for (const ValueId other : node.inputs) {
                    if (other.valid() && nodes[at(other)].base == base &&
                        !same_view(nodes[at(other)].layout, nodes[at(operand)].layout)) {
                        safe = false;
                    }
                }
                if (safe) {
                    reused = candidate;
                    step.in_place_of = operand;
                }
            }
        }
        if (reused >= 0) {
            Allocation& allocation = allocations[static_cast<std::size_t>(reused)];
            allocation.lifetime.last = std::max(allocation.lifetime.last, lifetime.last);
            pinned[static_cast<std::size_t>(reused)] = holds_output[at(step.value)];
            plan.allocation_of_[at(step.value)] = reused;
        } else {
            plan.allocation_of_[at(step.value)] = new_allocation(step.value, node.layout.packed_bytes(), lifetime, false);
        }
        const std::uint64_t scratch = options.scratch_bytes ? options.scratch_bytes(g, step.value) : 0;
        if (scratch > 0) {
            step.scratch = new_allocation(step.value, scratch, {s, s}, true);
        }
    }
    // Views share their base's allocation.
    for (std::size_t i = 0; i < n; ++i) {
        if (plan.live_[i] && op_is_view(nodes[i].op) && in_arena(nodes[i].base)) {
            plan.allocation_of_[i] = plan.allocation_of_[at(nodes[i].base)];
        }
    }

    // The bound: bytes live at each step (a difference array over lifetimes).
    std::vector<std::int64_t> delta(static_cast<std::size_t>(step_count) + 2, 0);
    for (const Allocation& allocation : allocations) {
        plan.total_bytes_ += allocation.bytes;
        delta[static_cast<std::size_t>(allocation.lifetime.first)] += static_cast<std::int64_t>(allocation.bytes);
        delta[static_cast<std::size_t>(allocation.lifetime.last) + 1] -= static_cast<std::int64_t>(allocation.bytes);
    }
    std::int64_t live_bytes = 0;
    for (const std::int64_t d : delta) {
        live_bytes += d;
        plan.lower_bound_bytes_ = std::max(plan.lower_bound_bytes_, static_cast<std::uint64_t>(live_bytes));
    }
    plan.peak_bytes_ = assign_offsets(allocations);
    return plan;
}

// ----------------------------------------------------------------------------------------------- Plan

bool Plan::is_live(ValueId value) const {
    (void)graph_.node(value);
    return live_[at(value)];
}

bool Plan::in_arena(ValueId value) const {
    (void)graph_.node(value);
    return allocation_of_[at(value)] >= 0;
}

const Allocation& Plan::allocation(ValueId value) const {
    if (!in_arena(value)) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "{} has no memory in the arena ({})", graph_.describe(value),
                    live_[at(value)] ? "it is a weight" : "no output depends on it");
    }
    return allocations_[static_cast<std::size_t>(allocation_of_[at(value)])];
}

std::uint64_t Plan::offset(ValueId value) const {
    return allocation(value).offset + static_cast<std::uint64_t>(graph_.node(value).layout.offset);
}

int Plan::step_of(ValueId value) const {
    (void)graph_.node(value);
    return step_of_[at(value)];
}

TensorView Plan::view(ValueId value, std::byte* arena) const {
    const Node& node = graph_.node(value);
    const Node& base = graph_.node(node.base);
    if (base.op == OpKind::Weight) {
        return make_view(base.constant.data(), node.layout);
    }
    return make_view(arena + allocation(node.base).offset, node.layout);
}

Tensor Plan::tensor(ValueId value, const std::shared_ptr<Storage>& arena) const {
    const Node& node = graph_.node(value);
    const Node& base = graph_.node(node.base);
    Layout layout = node.layout;
    if (base.op == OpKind::Weight) {
        layout.offset += base.constant.layout().offset;
        return Tensor(base.constant.storage(), layout);
    }
    if (arena == nullptr || arena->size() < peak_bytes_) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: the arena holds {} bytes; this plan needs {}",
                    graph_.describe(value), arena != nullptr ? arena->size() : 0, peak_bytes_);
    }
    layout.offset += static_cast<std::int64_t>(allocation(node.base).offset);
    return Tensor(Storage::arena(arena, std::span<std::byte>(arena->data(), static_cast<std::size_t>(arena->size()))),
                  layout);
}

std::string Plan::describe() const {
    std::string text;
    for (std::size_t s = 0; s < steps_.size(); ++s) {
        const Step& step = steps_[s];
        const Node& node = graph_.node(step.value);
        const Allocation& allocation = allocations_[static_cast<std::size_t>(allocation_of_[at(step.value)])];
        text += format("{} {} {} @{} +{} steps {}..{}", s, graph_.describe(step.value), node.layout.shape.to_string(),
                       allocation.offset, allocation.bytes, allocation.lifetime.first, allocation.lifetime.last);
        if (step.in_place_of.valid()) {
            text += format(" in place of #{}", step.in_place_of.index);
        }
        if (step.scratch >= 0) {
            const Allocation& scratch = allocations_[static_cast<std::size_t>(step.scratch)];
            text += format(" scratch @{} +{}", scratch.offset, scratch.bytes);
        }
        if (step.device != 0) {
            text += format(" on device {}", step.device);
        }
        text += '\n';
    }
    text += format("peak {} bytes, lower bound {}, without reuse {}\n", peak_bytes_, lower_bound_bytes_, total_bytes_);
    return text;
}

} // namespace nd::core
