// The built-in process projectors (docs/process-projector.md): derived ids make redelivery
// harmless, and processes + host_stats move together with the cursor, so `seen` never
// double-counts.
#include "prom/process_projectors.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/thread_annotations.hpp"
#include "core/thread_name.hpp"
#include "projector/process_handlers.hpp"

namespace prom {

namespace {

class running_process_projectors final : public process_projectors {
  public:
    running_process_projectors(store& s, process_projector_options o) : store_(s), options_(o) {
        (void)s.declare_index(processes_collection, "status");
        (void)s.declare_index(processes_collection, "host");
        heartbeat_ =
            start_transactional_projector(s, {.topic = std::string(heartbeat_topic),
                                              .group = std::string(process_projector_group),
                                              .handler = process::project_heartbeat,
                                              .batch_size = o.batch_size});
        txn_ = start_transactional_projector(s, {.topic = std::string(process_state_topic),
                                                 .group = std::string(process_txn_group),
                                                 .handler = process::project_process_state,
                                                 .batch_size = o.batch_size});
        stale_thread_ = std::thread([this] { stale_loop(); });
    }

    ~running_process_projectors() override { stop(); }

    void stop() override {
        {
            prom::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        if (stale_thread_.joinable()) stale_thread_.join();
        if (heartbeat_) heartbeat_->stop();
        if (txn_) txn_->stop();
    }

    projector& heartbeat_projector() override { return *heartbeat_; }
    projector& txn_projector() override { return *txn_; }
    std::uint64_t stale_emitted() const override { return stale_emitted_.load(); }

  private:
    void stale_loop() {
        name_this_thread("prom-stale");
        prom::unique_lock lock(mu_);
        for (;;) {
            const auto due = std::chrono::steady_clock::now() + options_.stale_check_every;
            while (!stopping_ && cv_.wait_until(lock.native(), due) != std::cv_status::timeout) {
            }
            if (stopping_) return;
            lock.unlock();
            auto n = process::emit_stale_states(store_, options_.stale_after, now_ms());
            if (!n) {
                spdlog::warn("stale detection: {}", n.error().message);
            } else {
                stale_emitted_ += *n;
            }
            lock.lock();
        }
    }

    store& store_;
    process_projector_options options_;
    std::unique_ptr<projector> heartbeat_;
    std::unique_ptr<projector> txn_;
    prom::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ PROM_GUARDED_BY(mu_) = false;
    std::atomic<std::uint64_t> stale_emitted_{0};
    std::thread stale_thread_;
};

}  // namespace

std::unique_ptr<process_projectors> start_process_projectors(store& s,
                                                             process_projector_options o) {
    return std::make_unique<running_process_projectors>(s, o);
}

}  // namespace prom
