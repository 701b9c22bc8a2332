// One UNet evaluation at full SD 1.5 size (shapes of the real checkpoint, random weights), batch 2 (cond +
// uncond), 77 context tokens, with 2 threads (the figure stable-diffusion.cpp is compared at):
//
//   BM_unet_sd15/<latent size>/<weights>      seconds per denoising step; 64 = 512x512 images
//   BM_unet_sd15_ops/<latent size>/<weights>/<packed>  the same step run one plan step at a time: seconds
//                                             (wall and CPU of both threads) and GFLOP per op kind; packed 1:
//                                             weights packed once (upload_weights), 0: packed by every call
//
// <weights> is 0 = F16, 1 = Q8_0, 2 = Q4_0: every linear and convolution weight whose rows are whole blocks
// is quantized as a GGUF file stores it (convolutions as rows [O, C*kh*kw]); the stem (rows of 36) and
// vectors stay F16. The weights are written to a temporary file and mapped, as a model file is, so the peak
// resident memory (counter peak_rss_MiB, the process's high-water mark from the start of the benchmark)
// counts what a real run holds: the packed weights (CpuBackend::upload_weights), the arena, the file pages in
// use. pack_s is the wall time of packing the weights, once per model; page_faults those of the timed steps.
//
//   artifacts/cmake/dev/native/bench/nd_bench --benchmark_filter='BM_unet'
//
// Needs ../shared/fixtures/sd15_original_tensor_shapes.json beside the repository.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"
#include "core/mapped_file.hpp"
#include "formats/json.hpp"
#include "model_files/weight_set.hpp"
#include "models/unet.hpp"

namespace {

using namespace nd;

constexpr int kThreads = 2;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr nd_dtype kWeightTypes[] = {ND_DTYPE_F16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0};

std::string read_text(const std::filesystem::path& path) {
    std::string text;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char buffer[65536];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) {
            text.append(buffer, n);
        }
        std::fclose(f);
    }
    return text;
}

// Matrices uniform in +-1/sqrt(fan_in), vectors (norm scales, biases) 1: activations stay O(1), so no
// denormals slow anything down.
std::vector<float> random_values(const core::Shape& shape, std::uint32_t seed) {
    std::vector<float> out(static_cast<std::size_t>(shape.elements()), 1.0f);
    if (shape.rank == 1) {
        return out;
    }
    const float bound = 1.0f / std::sqrt(static_cast<float>(shape.elements() / shape[0]));
    std::uint32_t state = seed * 2654435761u + 1u;
    for (float& v : out) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        v = core::f16_to_f32(core::f32_to_f16(bound * (static_cast<float>(state >> 8) / 8388608.0f - 1.0f)));
    }
    return out;
}

// A tensor's bytes in `type` (F16, or a block type for matrices with whole blocks per row), and its shape.
std::vector<std::byte> encode(const core::Shape& shape, const std::vector<float>& values, nd_dtype type,
                              core::Shape& stored_shape, nd_dtype& stored_type) {
    const std::int64_t rows = shape.rank >= 2 ? shape[0] : 1;
    const std::int64_t k = shape.elements() / rows;
    stored_shape = shape;
    stored_type = ND_DTYPE_F16;
    if (type != ND_DTYPE_F16 && shape.rank >= 2 &&
        k % static_cast<std::int64_t>(core::dtype_block_elements(type)) == 0) {
        stored_shape = core::Shape{rows, k};
        stored_type = type;
    }
    const auto row_bytes = core::dtype_row_bytes(stored_type, static_cast<std::uint64_t>(k));
    std::vector<std::byte> bytes(static_cast<std::size_t>(row_bytes * static_cast<std::uint64_t>(rows)));
    for (std::int64_t r = 0; r < rows; ++r) {
        const auto src = std::span(values.data() + r * k, static_cast<std::size_t>(k));
        const auto dst = std::span(bytes.data() + static_cast<std::size_t>(r) * row_bytes, row_bytes);
        if (stored_type == ND_DTYPE_F16) {
            for (std::size_t i = 0; i < src.size(); ++i) {
                const std::uint16_t h = core::f32_to_f16(src[i]);
                std::memcpy(dst.data() + 2 * i, &h, 2);
            }
        } else {
            backends::cpu::quant::quantize_row(stored_type, src, dst);
        }
    }
    return bytes;
}

// The full-size UNet's weights in `type`, written once per process to a temporary file (unlinked at once)
// and mapped: tensors borrow the mapping, like a loaded model's.
const model_files::WeightSet& sd15_unet_weights(nd_dtype type) {
    static std::map<nd_dtype, model_files::WeightSet> sets;
    if (const auto it = sets.find(type); it != sets.end()) {
        return it->second;
    }
    model_files::WeightSet& set = sets[type];
    const auto shapes_path = std::filesystem::path(ND_SOURCE_DIR).parent_path() / "shared" / "fixtures" /
                             "sd15_original_tensor_shapes.json";
    const std::string text = read_text(shapes_path);
    if (text.empty()) {
        return set;
    }
    const formats::JsonValue root = formats::parse_json(text);
    struct Placed {
        std::string name;
        std::uint64_t offset;
        nd_dtype type;
        core::Shape shape;
    };
    std::vector<Placed> placed;
    const auto path = std::filesystem::temp_directory_path() /
                      ("nd_bench_unet_" + std::to_string(getpid()) + "_" + core::dtype_name(type) + ".bin");
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        std::uint64_t offset = 0;
        std::uint32_t seed = 1;
        for (const formats::JsonMember& member : root.as_object()) {
            if (member.key.rfind(models::kUNetPrefix, 0) != 0) {
                continue;
            }
            std::vector<std::int64_t> dims;
            for (const formats::JsonValue& e : member.value.as_array()) {
                dims.push_back(e.as_number().int64.value_or(0));
            }
            const core::Shape shape = core::Shape::of(dims);
            Placed p{member.key, 0, ND_DTYPE_F16, shape};
            const std::vector<std::byte> bytes =
                encode(shape, random_values(shape, seed++), type, p.shape, p.type);
            const std::uint64_t aligned = (offset + 63) / 64 * 64;
            const std::vector<char> padding(aligned - offset, 0);
            file.write(padding.data(), static_cast<std::streamsize>(padding.size()));
            file.write(reinterpret_cast<const char*>(bytes.data()),
                       static_cast<std::streamsize>(bytes.size()));
            p.offset = aligned;
            offset = aligned + bytes.size();
            placed.push_back(std::move(p));
        }
    }
    const auto mapped = std::make_shared<const core::MappedFile>(core::MappedFile::open(path.string()));
    std::filesystem::remove(path); // the mapping keeps the data
    for (Placed& p : placed) {
        set.add(std::move(p.name), core::Tensor::borrow(mapped, p.offset, p.type, p.shape));
    }
    return set;
}

core::Tensor filled(const core::Shape& shape, float scale) {
    std::vector<float> values(static_cast<std::size_t>(shape.elements()));
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = scale * std::sin(0.37f * static_cast<float>(i));
    }
    return core::Tensor::from_f32(shape, values);
}

// The process's resident high-water mark is reset (Linux: /proc/self/clear_refs) and read (VmHWM).
void reset_peak_rss() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

double peak_rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stod(line.substr(6)) / 1024.0;
        }
    }
    return 0.0;
}

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

const model_files::WeightSet* weights_for(benchmark::State& state) {
    const nd_dtype type = kWeightTypes[state.range(1)];
    state.SetLabel(core::dtype_name(type));
    const auto& weights = sd15_unet_weights(type);
    if (weights.empty()) {
        state.SkipWithError("sd15_original_tensor_shapes.json not found beside the repository");
        return nullptr;
    }
    return &weights;
}

void BM_unet_sd15(benchmark::State& state) {
    const std::int64_t size = state.range(0);
    const model_files::WeightSet* weights = weights_for(state);
    if (weights == nullptr) {
        return;
    }
    reset_peak_rss();
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{kThreads, {}});
    models::UNet unet(*weights, backend);
    const core::Tensor x = filled(core::Shape{2, 4, size, size}, 1.0f);
    const core::Tensor context = filled(core::Shape{2, 77, 768}, 1.0f);
    const core::Plan& plan = unet.plan({2, size, size, 77});
    const auto pack_start = std::chrono::steady_clock::now();
    backend.upload_weights(plan, 0); // what the first eps() would do: pack every weight once
    state.counters["pack_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pack_start).count();
    (void)unet.eps(x, 500.0f, context); // warm-up: pages of the arena
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    for (auto _ : state) {
        benchmark::DoNotOptimize(unet.eps(x, 500.0f, context));
    }
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    state.counters["page_faults"] = static_cast<double>(after.ru_minflt - before.ru_minflt);
    state.counters["arena_MiB"] = static_cast<double>(plan.peak_bytes()) / kMiB;
    state.counters["packed_MiB"] = static_cast<double>(backend.packed_weights().bytes()) / kMiB;
    state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_unet_sd15)
    ->ArgsProduct({{32, 64}, {0, 1, 2}})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime(); // CPU: both threads; on a busy machine CPU / 2 is what a quiet one would take

// Multiply-adds x 2 of a step's node (linear, convolution, attention, matmul); 0 for the rest.
double node_flops(const core::Graph& graph, core::ValueId id) {
    const core::Node& node = graph.node(id);
    const core::Shape& out = node.layout.shape;
    switch (node.op) {
    case core::OpKind::Linear: {
        const core::Shape& w = graph.layout(node.inputs[1]).shape;
        return 2.0 * static_cast<double>(out.elements()) * static_cast<double>(w[w.rank - 1]);
    }
    case core::OpKind::Conv2d: {
        const core::Shape& w = graph.layout(node.inputs[1]).shape;
        return 2.0 * static_cast<double>(out.elements()) * static_cast<double>(w.elements() / w[0]);
    }
    case core::OpKind::Attention: {
        const core::Shape& k = graph.layout(node.inputs[1]).shape;
        return 4.0 * static_cast<double>(out.elements()) * static_cast<double>(k[k.rank - 2]);
    }
    default: return 0.0;
    }
}

// One pass of the plan step by step, timing each op kind.
void BM_unet_sd15_ops(benchmark::State& state) {
    const std::int64_t size = state.range(0);
    const model_files::WeightSet* weights = weights_for(state);
    if (weights == nullptr) {
        return;
    }
    backends::cpu::CpuBackend backend(backends::cpu::CpuBackendOptions{kThreads, {}});
    const auto architecture = models::infer_unet_architecture(*weights);
    const core::Plan plan =
        backends::plan_for(models::build_unet_graph(architecture, *weights, {2, size, size, 77}), backend);
    auto arena = backend.allocate(plan.peak_bytes());
    if (state.range(2) != 0) {
        backend.upload_weights(plan, 0); // packs the weights once, as Executor::run does
    }
    const std::vector<float> t{500.0f, 500.0f};
    const std::vector<core::Tensor> inputs{filled(core::Shape{2, 4, size, size}, 1.0f),
                                           core::Tensor::from_f32(core::Shape{2}, t),
                                           filled(core::Shape{2, 77, 768}, 1.0f)};
    struct Totals {
        double wall = 0.0;
        double cpu = 0.0;
        double flops = 0.0;
    };
    std::map<std::string, Totals> totals;
    for (auto _ : state) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const core::Tensor& input = inputs[i];
            arena
                ->upload(plan.offset(plan.graph().inputs()[i]),
                         std::span(input.data(), static_cast<std::size_t>(input.packed_bytes())))
                .wait();
        }
        totals.clear();
        for (std::size_t s = 0; s < plan.steps().size(); ++s) {
            const core::ValueId id = plan.steps()[s].value;
            const core::OpKind op = plan.graph().node(id).op;
            const bool kept =
                op == core::OpKind::Conv2d || op == core::OpKind::Linear || op == core::OpKind::Attention;
            Totals& sum = totals[kept ? std::string(core::op_name(op)) : std::string("other")];
            const auto start = std::chrono::steady_clock::now();
            const double cpu_start = process_cpu_seconds();
            backend.submit(plan, s, s + 1, *arena).wait();
            sum.cpu += process_cpu_seconds() - cpu_start;
            sum.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            sum.flops += node_flops(plan.graph(), id);
        }
    }
    for (const auto& [op, sum] : totals) {
        state.counters[op + "_s"] = sum.wall;
        state.counters[op + "_cpu_s"] = sum.cpu;
        if (sum.flops > 0.0) {
            state.counters[op + "_GFLOP"] = sum.flops * 1e-9;
        }
    }
}
BENCHMARK(BM_unet_sd15_ops)
    ->ArgsProduct({{64}, {0, 1, 2}, {1, 0}})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

} // namespace
