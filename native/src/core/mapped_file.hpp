// A whole file mapped read-only into memory, unmapped when the owner goes away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace nd::core {

class MappedFile {
public:
    // Maps the file at `path` (UTF-8). Throws Error(ND_STATUS_IO_ERROR) naming the path and the OS reason.
    // An empty file is fine: it maps to an empty span without calling mmap (which refuses length 0).
    static MappedFile open(const std::string& path);

    MappedFile() noexcept = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
    std::uint64_t size() const noexcept { return size_; }
    const std::string& path() const noexcept { return path_; }

private:
    MappedFile(std::string path, const std::byte* data, std::size_t size) noexcept;
    void unmap() noexcept;

    std::string path_;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace nd::core
