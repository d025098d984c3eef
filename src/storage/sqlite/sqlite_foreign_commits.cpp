#include "storage/sqlite/sqlite_foreign_commits.hpp"

#include "core/thread_name.hpp"

namespace prom::storage::sqlite {

foreign_commit_watcher::foreign_commit_watcher(std::function<bool()> moved,
                                               std::function<void()> changed)
    : moved_(std::move(moved)), changed_(std::move(changed)) {
    thread_ = std::thread([this] { run(); });
}

foreign_commit_watcher::~foreign_commit_watcher() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    thread_.join();
}

void foreign_commit_watcher::run() {
    name_this_thread("prom-foreign");
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        if (moved_()) changed_();
        lock.lock();
        stop_cv_.wait_for(lock, interval, [&] { return stopping_; });
    }
}

}  // namespace prom::storage::sqlite
