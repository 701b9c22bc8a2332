#include "core/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <system_error>
#include <utility>

#include "core/error.hpp"

namespace nd::core {

namespace {

[[noreturn]] void throw_io_error(std::string_view what, const std::string& path, int error_number) {
    // system_category().message is thread-safe, unlike strerror.
    throw_error(ND_STATUS_IO_ERROR, "cannot {} '{}': {}", what, path,
                std::system_category().message(error_number));
}

// Closes the descriptor on every path out of open(): the mapping stays valid after close.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

} // namespace

MappedFile MappedFile::open(const std::string& path) {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw_io_error("open", path, errno);
    }

    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        throw_io_error("stat", path, errno);
    }
    if (!S_ISREG(info.st_mode)) {
        throw_error(ND_STATUS_IO_ERROR, "cannot map '{}': it is not a regular file", path);
    }
    const auto file_size = static_cast<std::uint64_t>(info.st_size);
    if (file_size > std::numeric_limits<std::size_t>::max()) {
        throw_error(ND_STATUS_IO_ERROR, "cannot map '{}': its {} bytes exceed the address space", path,
                    file_size);
    }
    // Copied before mmap so that a failing allocation cannot leak the mapping.
    std::string owned_path = path;
    if (file_size == 0) {
        return MappedFile(std::move(owned_path), nullptr, 0);
    }

    void* address = ::mmap(nullptr, static_cast<std::size_t>(file_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (address == MAP_FAILED) {
        throw_io_error("map", path, errno);
    }
    return MappedFile(std::move(owned_path), static_cast<const std::byte*>(address),
                      static_cast<std::size_t>(file_size));
}

MappedFile::MappedFile(std::string path, const std::byte* data, std::size_t size) noexcept
    : path_(std::move(path)), data_(data), size_(size) {}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        unmap();
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

MappedFile::~MappedFile() {
    unmap();
}

void MappedFile::unmap() noexcept {
    if (data_ != nullptr) {
        ::munmap(const_cast<std::byte*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }
}

} // namespace nd::core
