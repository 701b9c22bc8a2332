// libFuzzer target: parse_safetensors must either accept an input whose every promise holds, or refuse it
// with nd::core::Error. Any other exception, a crash, a sanitizer report or a broken promise is a finding.
//
// Each input is tried twice: as a whole file, and reframed as "header JSON, NUL, data" with the length
// prefix computed here. The second form lets mutations grow or shrink the JSON without having to fix the
// prefix by luck, so the fuzzer reaches the tensor validation, not only the length checks.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/safetensors.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

// What an accepted file guarantees to every later reader.
void check_promises(const nd::formats::SafetensorsHeader& header, std::size_t file_size) {
    std::uint64_t expected_offset = 8 + header.header_size;
    for (const nd::formats::SafetensorsTensor& tensor : header.tensors) {
        require(!tensor.name.empty() && tensor.name.find('\0') == std::string::npos);
        require(tensor.shape.size() <= nd::formats::kSafetensorsMaxDims);
        std::uint64_t elements = 1;
        for (const std::int64_t dim : tensor.shape) {
            require(dim >= 0);
            elements *= static_cast<std::uint64_t>(dim);
        }
        require(elements == tensor.n_elements);
        require(tensor.data_size == tensor.n_elements * nd::core::dtype_size(tensor.dtype));
        require(tensor.data_offset == expected_offset);
        expected_offset += tensor.data_size;
    }
    require(expected_offset == file_size);
    for (std::size_t i = 1; i < header.metadata.size(); ++i) {
        require(header.metadata[i - 1].key < header.metadata[i].key);
    }
}

void try_parse(std::span<const std::byte> file) {
    try {
        check_promises(nd::formats::parse_safetensors(file), file.size());
    } catch (const nd::core::Error&) {
        // A refusal is a correct answer; anything else thrown escapes and aborts the run.
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    try_parse({bytes, size});

    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(data, 0, size));
    const std::size_t header_size = nul != nullptr ? static_cast<std::size_t>(nul - data) : size;
    std::vector<std::byte> framed(8);
    for (std::size_t i = 0; i < 8; ++i) {
        framed[i] = static_cast<std::byte>((static_cast<std::uint64_t>(header_size) >> (8 * i)) & 0xFF);
    }
    framed.insert(framed.end(), bytes, bytes + header_size);
    if (nul != nullptr) {
        framed.insert(framed.end(), bytes + header_size + 1, bytes + size);
    }
    try_parse(framed);
    return 0;
}
