#include "backends/backend.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends {

using core::Graph;
using core::Node;
using core::OpKind;
using core::Plan;
using core::Tensor;
using core::ValueId;

namespace {

std::size_t at(ValueId value) noexcept { return static_cast<std::size_t>(value.index); }

class FailedEvent final : public Submission::Event {
public:
    explicit FailedEvent(std::exception_ptr error) : error_(std::move(error)) {}
    bool ready() override { return true; }
    void wait() override { std::rethrow_exception(error_); }

private:
    std::exception_ptr error_;
};

void check_range(const BackendBuffer& buffer, std::uint64_t offset, std::uint64_t bytes, const char* what) {
    if (offset > buffer.size() || bytes > buffer.size() - offset) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} of {} bytes at offset {} is outside a buffer of {} bytes",
                          what, bytes, offset, buffer.size());
    }
}

std::string describe_operands(const Graph& graph, ValueId value) {
    const Node& node = graph.node(value);
    std::string text;
    for (const ValueId operand : node.inputs) {
        if (!operand.valid()) {
            continue;
        }
        if (!text.empty()) {
            text += ", ";
        }
        const core::Layout layout = graph.layout(operand);
        text += core::dtype_name(layout.dtype);
        text += ' ';
        text += layout.shape.to_string();
    }
    return text;
}

} // namespace

// ------------------------------------------------------------------------------------------ Submission

Submission Submission::failed(std::exception_ptr error) {
    return Submission(std::make_shared<FailedEvent>(std::move(error)));
}

// ------------------------------------------------------------------------------------------ HostBuffer

HostBuffer::HostBuffer(std::uint64_t bytes) : storage_(core::Storage::allocate(bytes)) {}

Submission HostBuffer::upload(std::uint64_t offset, std::span<const std::byte> bytes) {
    check_range(*this, offset, bytes.size(), "an upload");
    if (!bytes.empty()) {
        std::memcpy(storage_->data() + offset, bytes.data(), bytes.size());
    }
    return {};
}

Submission HostBuffer::download(std::uint64_t offset, std::span<std::byte> bytes) {
    check_range(*this, offset, bytes.size(), "a download");
    if (!bytes.empty()) {
        std::memcpy(bytes.data(), storage_->data() + offset, bytes.size());
    }
    return {};
}

// ------------------------------------------------------------------------------------------- Backend

bool Backend::supports(const Graph& graph, ValueId value) const {
    const Node& node = graph.node(value);
    std::vector<nd_dtype> dtypes;
    dtypes.reserve(node.inputs.size());
    for (const ValueId operand : node.inputs) {
        if (operand.valid()) {
            dtypes.push_back(graph.layout(operand).dtype);
        }
    }
    return supports(node.op, dtypes, node.layout.dtype);
}

// ---------------------------------------------------------------------------------------- WeightCache

BackendBuffer& WeightCache::get(Backend& backend, const Tensor& weight) {
    if (!weight.defined()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "a weight without storage cannot be uploaded");
    }
    const std::uint64_t bytes = weight.packed_bytes();
    const auto key = std::make_pair(static_cast<const std::byte*>(weight.data()), bytes);
    auto found = entries_.find(key);
    if (found == entries_.end()) {
        const Tensor packed = weight.contiguous();
        Entry entry;
        entry.storage = weight.storage();
        entry.buffer = backend.allocate(bytes);
        entry.buffer->upload(0, std::span<const std::byte>(packed.data(), static_cast<std::size_t>(bytes))).wait();
        uploaded_bytes_ += bytes;
        found = entries_.emplace(key, std::move(entry)).first;
    }
    return *found->second.buffer;
}

// -------------------------------------------------------------------------------------------- plan_for

core::Plan plan_for(Graph graph, std::span<Backend* const> backends, core::PlanOptions options) {
    if (backends.empty()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "plan_for needs at least one backend");
    }
    std::vector<Backend*> list(backends.begin(), backends.end());
    auto placement = [list](const Graph& g, ValueId value) {
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (list[i]->supports(g, value)) {
                return static_cast<int>(i);
            }
        }
        std::string tried;
        for (const Backend* backend : list) {
            tried += tried.empty() ? "" : ", ";
            tried += backend->name();
        }
        core::throw_error(ND_STATUS_UNSUPPORTED, "no backend runs {} with operands {} giving {} (tried {})",
                          g.describe(value), describe_operands(g, value),
                          core::dtype_name(g.layout(value).dtype), tried);
    };
    options.placement = placement;
    options.scratch_bytes = [list, placement](const Graph& g, ValueId value) {
        return list[static_cast<std::size_t>(placement(g, value))]->scratch_bytes(g, value);
    };
    return core::plan_graph(std::move(graph), options);
}

core::Plan plan_for(Graph graph, Backend& backend, core::PlanOptions options) {
    Backend* const list[] = {&backend};
    return plan_for(std::move(graph), std::span<Backend* const>(list), std::move(options));
}

// -------------------------------------------------------------------------------------------- Executor

Executor::Executor(std::vector<Backend*> backends) : backends_(std::move(backends)) {
    if (backends_.empty() || backends_.size() > 32 ||
        std::any_of(backends_.begin(), backends_.end(), [](const Backend* b) { return b == nullptr; })) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "an executor needs 1 to 32 backends, none null");
    }
    arenas_.resize(backends_.size());
}

BackendBuffer& Executor::arena(int device, std::uint64_t bytes) {
    std::unique_ptr<BackendBuffer>& buffer = arenas_[static_cast<std::size_t>(device)];
    if (buffer == nullptr || buffer->size() < bytes) {
        buffer.reset(); // free the old arena before allocating the larger one
        buffer = backends_[static_cast<std::size_t>(device)]->allocate(std::max<std::uint64_t>(bytes, 1));
    }
    return *buffer;
}

std::vector<Tensor> Executor::run(const Plan& plan, std::span<const Tensor> inputs) {
    const Graph& graph = plan.graph();
    const std::span<const Node> nodes = graph.nodes();
    transferred_bytes_ = 0;

    // Inputs as packed host tensors, checked against their declarations.
    if (inputs.size() != graph.inputs().size()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "the graph has {} inputs but {} tensors were given",
                          graph.inputs().size(), inputs.size());
    }
    std::vector<Tensor> host(graph.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const ValueId id = graph.inputs()[i];
        const core::Layout declared = graph.layout(id);
        if (!inputs[i].defined() || inputs[i].dtype() != declared.dtype || !(inputs[i].shape() == declared.shape)) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "input {} '{}' is declared {} {} but {} {} was given", i,
                              nodes[at(id)].name, core::dtype_name(declared.dtype), declared.shape.to_string(),
                              inputs[i].defined() ? core::dtype_name(inputs[i].dtype()) : "nothing",
                              inputs[i].shape().to_string());
        }
        host[at(id)] = inputs[i].contiguous();
    }

    // Arenas and weights on every device the plan uses.
    const std::span<const core::Step> steps = plan.steps();
    std::uint32_t used = 0;
    for (const core::Step& step : steps) {
        if (step.device < 0 || static_cast<std::size_t>(step.device) >= backends_.size()) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is placed on device {} but the executor has {}",
                              graph.describe(step.value), step.device, backends_.size());
        }
        used |= 1u << step.device;
    }
    for (int d = 0; d < static_cast<int>(backends_.size()); ++d) {
        if ((used & (1u << d)) != 0) {
            (void)arena(d, plan.peak_bytes());
            backends_[static_cast<std::size_t>(d)]->upload_weights(plan, d);
        }
    }

    // Which devices hold a current copy of each value (by base): bit d for device d.
    std::vector<std::uint32_t> valid(graph.size(), 0);
    auto ensure_on = [&](ValueId base, int device) {
        const std::uint32_t bit = 1u << device;
        if ((valid[at(base)] & bit) != 0) {
            return;
        }
        const std::uint64_t offset = plan.allocation(base).offset;
        const std::uint64_t bytes = nodes[at(base)].layout.packed_bytes();
        BackendBuffer& target = *arenas_[static_cast<std::size_t>(device)];
        if (valid[at(base)] == 0) {
            const Tensor& source = host[at(base)];
            if (!source.defined()) {
                core::throw_error(ND_STATUS_INTERNAL_ERROR, "{} is read before any step wrote it",
                                  graph.describe(base));
            }
            target.upload(offset, std::span<const std::byte>(source.data(), static_cast<std::size_t>(bytes))).wait();
        } else {
            const int from = std::countr_zero(valid[at(base)]);
            BackendBuffer& source = *arenas_[static_cast<std::size_t>(from)];
            if (source.host_data() != nullptr) {
                target.upload(offset, std::span<const std::byte>(source.host_data() + offset, bytes)).wait();
            } else if (target.host_data() != nullptr) {
                source.download(offset, std::span<std::byte>(target.host_data() + offset, bytes)).wait();
            } else {
                std::vector<std::byte> staging(static_cast<std::size_t>(bytes));
                source.download(offset, staging).wait();
                target.upload(offset, staging).wait();
            }
            transferred_bytes_ += bytes;
        }
        valid[at(base)] |= bit;
    };

    // Runs of consecutive steps on one device, each submitted once its operands are there; with an interrupt
    // check, runs are cut every kStepsBetweenInterrupts steps so that a cancel is seen within a few ops.
    const std::size_t longest_run = interrupt_ ? kStepsBetweenInterrupts : steps.size();
    for (std::size_t first = 0; first < steps.size();) {
        if (interrupt_) {
            interrupt_();
        }
        const int device = steps[first].device;
        std::size_t last = first;
        while (last < steps.size() && steps[last].device == device && last - first < longest_run) {
            for (const ValueId operand : nodes[at(steps[last].value)].inputs) {
                if (operand.valid() && plan.in_arena(operand)) {
                    ensure_on(nodes[at(operand)].base, device);
                }
            }
            valid[at(steps[last].value)] = 1u << device; // written here before any later step reads it
            ++last;
        }
        backends_[static_cast<std::size_t>(device)]
            ->submit(plan, first, last, *arenas_[static_cast<std::size_t>(device)])
            .wait();
        first = last;
    }

    // Outputs, read back from wherever they are current.
    std::vector<Tensor> outputs;
    outputs.reserve(graph.outputs().size());
    for (const ValueId out : graph.outputs()) {
        const Node& node = nodes[at(out)];
        const Node& base = nodes[at(node.base)];
        Tensor base_tensor;
        if (base.op == OpKind::Weight) {
            base_tensor = base.constant;
        } else if (valid[at(node.base)] == 0) {
            base_tensor = host[at(node.base)]; // an input returned as it came
        } else {
            const int from = std::countr_zero(valid[at(node.base)]);
            base_tensor = Tensor::empty(base.layout.dtype, base.layout.shape);
            arenas_[static_cast<std::size_t>(from)]
                ->download(plan.allocation(node.base).offset,
                           std::span<std::byte>(base_tensor.data(), static_cast<std::size_t>(base_tensor.packed_bytes())))
                .wait();
        }
        core::Layout layout = node.layout;
        layout.offset += base_tensor.layout().offset;
        const Tensor view(base_tensor.storage(), layout);
        // A packed copy the caller owns alone (never an alias of a weight or of an input).
        Tensor copy = Tensor::empty(layout.dtype, layout.shape);
        copy.copy_from(view);
        outputs.push_back(std::move(copy));
    }
    return outputs;
}

} // namespace nd::backends
