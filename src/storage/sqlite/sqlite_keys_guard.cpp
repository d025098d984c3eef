#include "storage/sqlite/sqlite_keys_guard.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

namespace {

constexpr std::string_view clean_state = "clean\n";

std::optional<std::string> current_boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    if (!(in >> id) || id.empty()) return std::nullopt;
    return id;
}

// The state is the file's first line: write_state overwrites in place, then cuts the rest,
// so a power cut between the two leaves a whole first line (old or new), never an empty file.
std::string read_state(int fd) {
    std::array<char, 128> buf{};
    ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
    std::string text = n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
    if (auto end = text.find('\n'); end != std::string::npos) text.resize(end + 1);
    return text;
}

bool write_state(int fd, std::string_view text) {
    auto n = ::pwrite(fd, text.data(), text.size(), 0);
    return n == static_cast<ssize_t>(text.size()) &&
           ::ftruncate(fd, static_cast<off_t>(text.size())) == 0 && ::fdatasync(fd) == 0;
}

// fsync of a file or directory by path, if it exists; false on a failure other than absence.
bool sync_path(const std::string& path, bool directory) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    if (fd < 0) return errno == ENOENT;
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

std::string directory_of(const std::string& path) {
    auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

// A state left by another boot: the keys file may be torn. Deleted before anything attaches
// it (connection::open makes an empty one), and the deletion made durable before the state
// that no longer asks for it.
bool discard_keys_file(const std::string& db_path) {
    spdlog::warn(
        "key index '{}': the machine stopped while it was written without fsyncs; it is "
        "filled again from the log",
        keys_path(db_path));
    for (const char* tail : {"", "-wal", "-shm"}) {
        if (::unlink((keys_path(db_path) + tail).c_str()) != 0 && errno != ENOENT) return false;
    }
    return sync_path(directory_of(db_path), true);
}

}  // namespace

result<std::unique_ptr<keys_guard>> keys_guard::acquire(const std::string& db_path) {
    auto boot = current_boot_id();
    const std::string path = state_path(db_path);
    auto give_up = [&](const char* why) -> result<std::unique_ptr<keys_guard>> {
        spdlog::warn("key index '{}': {} ({}); it is written with fsyncs", keys_path(db_path), why,
                     path);
        return std::unique_ptr<keys_guard>();
    };
    if (!boot) return give_up("no boot id to tell a power cut from a process exit");
    std::string unsynced = "unsynced " + *boot + "\n";
    auto of_another_boot = [&](const std::string& state) {
        return state.starts_with("unsynced ") && state != unsynced;
    };
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return give_up(std::strerror(errno));
    // Bounded: a state file shared by machines (a network file system) could show another
    // boot's id for ever.
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            // No other store of this database is open: a state of another boot is ours to judge.
            if (of_another_boot(read_state(fd))) {
                if (!discard_keys_file(db_path)) {
                    const int err = errno;
                    ::close(fd);
                    return fail(errc::io_error,
                                "cannot delete the key index '" + keys_path(db_path) +
                                    "' that a power cut may have torn: " + std::strerror(err));
                }
                if (!write_state(fd, clean_state))
                    break;  // the new keys file has no unsynced write
            }
            // Shared from here on (no one waits for the exclusive lock: both takers try once).
            if (::flock(fd, LOCK_SH) != 0) break;
            return std::unique_ptr<keys_guard>(new keys_guard(db_path, std::move(unsynced), fd));
        }
        // Another store is open, or opening or closing: wait for its exclusive moment to end.
        if (::flock(fd, LOCK_SH) != 0) break;
        if (!of_another_boot(read_state(fd))) {
            return std::unique_ptr<keys_guard>(new keys_guard(db_path, std::move(unsynced), fd));
        }
        // Another boot's state, seen under a shared lock before an opener judged it: try again
        // for the exclusive lock.
        ::flock(fd, LOCK_UN);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        errno = EAGAIN;
    }
    const int err = errno;
    ::close(fd);
    return give_up(std::strerror(err));
}

bool keys_guard::mark_unsynced() {
    if (marked_) return true;
    // Under the shared lock no store can mark the file clean (that takes the exclusive one), so
    // once written this state holds until this store closes. The directory is synced too: the
    // state file may be new.
    if (read_state(fd_) != unsynced_ &&
        !(write_state(fd_, unsynced_) && sync_path(directory_of(db_path_), true))) {
        spdlog::warn("key index '{}': cannot record its state ({}); it is written with fsyncs",
                     keys_path(db_path_), std::strerror(errno));
        return false;
    }
    marked_ = true;
    return true;
}

keys_guard::~keys_guard() {
    // The last store of the database (every connection of this one is closed, and no other can
    // open while the lock is held), and some store wrote without fsyncs since the last `clean`.
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0 && read_state(fd_).starts_with("unsynced ")) {
        // SQLite's fsyncs at the last close do not cover pages an unsynced checkpoint already
        // copied, so sync both files here.
        const std::string keys = keys_path(db_path_);
        if (sync_path(keys, false) && sync_path(keys + "-wal", false) &&
            sync_path(directory_of(keys), true)) {
            if (!write_state(fd_, clean_state)) {
                spdlog::warn("key index '{}': cannot mark it clean: {}", keys,
                             std::strerror(errno));
            }
        } else {
            spdlog::warn("key index '{}': cannot sync it: {}", keys, std::strerror(errno));
        }
    }
    ::close(fd_);  // lets go of the lock
}

}  // namespace prom::storage::sqlite
