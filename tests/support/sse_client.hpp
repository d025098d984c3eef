// A blocking Server-Sent Events client over a raw loopback socket, for the watch tests and
// bench/watch_bench: it parses the stream as a browser's EventSource does (`id:` sets the
// last event id even without data, comments and `retry:` are skipped).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_client.hpp"

namespace prom::test {

struct sse_event {
    std::string id;
    std::string data;
};

class sse_client {
  public:
    // Connects and sends GET `target`; reads the status line and headers. A reply other
    // than 200 is read whole (reply().body).
    sse_client(std::uint16_t port, std::string_view target,
               const std::vector<std::pair<std::string, std::string>>& headers = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~sse_client();
    sse_client(const sse_client&) = delete;
    sse_client& operator=(const sse_client&) = delete;

    const http_reply& reply() const { return reply_; }  // status, headers (and an error body)
    bool streaming() const { return reply_.status == 200; }

    // The next event with data, or nullopt on timeout or when the stream ended.
    std::optional<sse_event> next(std::chrono::milliseconds timeout);
    // Events until `timeout` passes with none.
    std::vector<sse_event> drain(std::chrono::milliseconds quiet);
    const std::string& last_event_id() const { return last_id_; }
    std::size_t comments() const { return comments_; }  // keep-alives and the like
    bool ended() const { return ended_; }
    int fd() const { return fd_; }
    void close();

  private:
    bool fill(std::chrono::milliseconds timeout);  // reads more into buf_; false: none

    int fd_ = -1;
    http_reply reply_;
    std::string buf_;
    std::string last_id_;
    std::size_t comments_ = 0;
    bool ended_ = false;
};

}  // namespace prom::test
