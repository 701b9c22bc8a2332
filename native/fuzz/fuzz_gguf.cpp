// libFuzzer target: parse_gguf must either accept an input whose every promise holds, or refuse it with
// nd::core::Error. Any other exception, a crash, a sanitizer report, a broken promise or an allocation past
// the run's RSS limit is a finding. The typed getters and the file-kind sniffer run on every input too.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/file_kind.hpp"
#include "formats/gguf.hpp"

namespace {

using nd::formats::GgufHeader;
using nd::formats::GgufTensorInfo;

void require(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

// What an accepted file guarantees to every later reader.
void check_promises(const GgufHeader& header, std::size_t file_size) {
    require(header.version == 2 || header.version == 3);
    require(std::has_single_bit(header.alignment));
    require(header.data_start % header.alignment == 0);
    std::unordered_set<std::string> keys;
    for (const nd::formats::GgufKeyValue& entry : header.metadata) {
        require(!entry.key.empty() && entry.key.find('\0') == std::string::npos);
        require(keys.insert(entry.key).second);
    }
    std::vector<const GgufTensorInfo*> sorted;
    for (const GgufTensorInfo& tensor : header.tensors) {
        require(!tensor.name.empty() && tensor.name.find('\0') == std::string::npos);
        require(header.find_tensor(tensor.name) == &tensor);
        require(!tensor.shape.empty() && tensor.shape.size() <= nd::formats::kGgufMaxDims);
        std::uint64_t elements = 1;
        for (const std::int64_t dim : tensor.shape) {
            require(dim > 0);
            elements *= static_cast<std::uint64_t>(dim);
        }
        require(elements == tensor.n_elements);
        const auto row = static_cast<std::uint64_t>(tensor.shape.back());
        require(tensor.data_size == nd::core::dtype_row_bytes(tensor.dtype, row) * (elements / row));
        require(tensor.data_offset >= header.data_start);
        require(tensor.data_offset % header.alignment == 0);
        require(tensor.data_offset <= file_size && tensor.data_size <= file_size - tensor.data_offset);
        sorted.push_back(&tensor);
    }
    require(header.tensor_index.size() == header.tensors.size());
    std::sort(sorted.begin(), sorted.end(),
              [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->data_offset < b->data_offset; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        require(sorted[i - 1]->data_offset + sorted[i - 1]->data_size <= sorted[i]->data_offset);
    }
}

// The getters may refuse a value of the wrong type, never do anything else.
void exercise_getters(const GgufHeader& header) {
    for (const nd::formats::GgufKeyValue& entry : header.metadata) {
        const auto attempt = [](auto lookup) {
            try {
                lookup();
            } catch (const nd::core::Error&) {
            }
        };
        attempt([&] { (void)header.find_string(entry.key); });
        attempt([&] { (void)header.find_u32(entry.key); });
        attempt([&] { (void)header.find_i64(entry.key); });
        attempt([&] { (void)header.find_float(entry.key); });
        attempt([&] { (void)header.find_bool(entry.key); });
        attempt([&] { (void)header.find_string_array(entry.key); });
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    (void)nd::formats::sniff_file_kind(bytes, size, "fuzz.ckpt");
    try {
        const GgufHeader header = nd::formats::parse_gguf(bytes);
        check_promises(header, size);
        exercise_getters(header);
    } catch (const nd::core::Error&) {
        // A refusal is a correct answer; anything else thrown escapes and aborts the run.
    }
    return 0;
}
