// POSIX implementation of write_file_atomically: the temporary name carries the process id and a
// counter so concurrent writers in one folder never share a temporary file.
#include "atomic_file.h"

#include "lowbit/data/data_error.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace lowbit::data {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

// Closes the descriptor and removes the temporary file unless the write succeeded.
class TempFile {
public:
    explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            throw DataError(path_.string() + ": cannot create: " + errno_text());
        }
    }

    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    ~TempFile() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        if (!committed_) {
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
    }

    void write_all(std::span<const unsigned char> bytes) {
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                throw DataError(path_.string() + ": write failed: " + errno_text());
            }
            done += static_cast<size_t>(n);
        }
    }

    void sync_and_close() {
        if (::fsync(fd_) != 0) {
            throw DataError(path_.string() + ": fsync failed: " + errno_text());
        }
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) {
            throw DataError(path_.string() + ": close failed: " + errno_text());
        }
    }

    void commit() {
        committed_ = true;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool committed_ = false;
};

std::atomic<unsigned> temp_counter{0};

}  // namespace

void sync_directory(const std::filesystem::path& dir) {
    const std::filesystem::path target = dir.empty() ? std::filesystem::path(".") : dir;
    const int fd = ::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        throw DataError(target.string() + ": cannot open folder to sync: " + errno_text());
    }
    // Some file systems refuse fsync on folders (EINVAL); the rename is then as durable as the
    // file system allows, which is not an error for us.
    if (::fsync(fd) != 0 && errno != EINVAL) {
        const std::string why = errno_text();
        ::close(fd);
        throw DataError(target.string() + ": folder fsync failed: " + why);
    }
    ::close(fd);
}

void write_file_atomically(const std::filesystem::path& path,
                           std::span<const unsigned char> bytes) {
    const std::filesystem::path dir = path.parent_path();
    const std::filesystem::path temp_path =
        dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
               std::to_string(temp_counter.fetch_add(1)));
    TempFile temp(temp_path);
    temp.write_all(bytes);
    temp.sync_and_close();
    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
        throw DataError(path.string() +
                        ": cannot rename temporary file into place: " + errno_text());
    }
    temp.commit();
    sync_directory(dir);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
    write_file_atomically(
        path, std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

}  // namespace lowbit::data
