// Change notification across nodes: a thread with its own connection LISTENs on the
// store's channel and calls `on_change` whenever any node's commit NOTIFYs it, with the
// notifications' non-empty payloads (document changes, see pg_transaction.cpp; appended
// topics, see prom_append in pg_schema.hpp).
//
// When the connection breaks it reconnects with a backoff and calls `on_change` with
// `lost = true` once it is back (notifications sent meanwhile are lost, so waiters must look
// again). Not copyable;
// stop() (or the destructor) joins the thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "prom/error.hpp"

namespace prom::storage::postgres {

class change_listener {
  public:
    change_listener(
        std::string conninfo, std::vector<std::string> setup, std::string channel,
        std::function<void(const std::vector<std::string>& payloads, bool lost)> on_change);
    ~change_listener();
    change_listener(const change_listener&) = delete;
    change_listener& operator=(const change_listener&) = delete;

    // Connects and LISTENs before returning, so no commit after start() goes unnoticed.
    status start();
    void stop();

  private:
    void run();

    std::string conninfo_;
    std::vector<std::string> setup_;
    std::string channel_;
    std::function<void(const std::vector<std::string>& payloads, bool lost)> on_change_;
    int wake_fd_ = -1;  // an eventfd: stop() writes to it to interrupt poll()
    std::atomic<bool> stop_{false};
    void* first_conn_ = nullptr;  // the connection start() made, handed to run()
    std::thread thread_;
};

}  // namespace prom::storage::postgres
