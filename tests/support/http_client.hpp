// A tiny blocking HTTP/1.1 client over a raw loopback socket, for the integration tests.
//
// Raw on purpose: tests must be able to send bytes no well-behaved client would (both
// Content-Length and Transfer-Encoding, one byte at a time, oversize headers). It reads
// replies with Content-Length bodies only, which is all `prom serve` sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prom::test {

struct http_reply {
    int status = 0;
    std::string reason;  // the reason phrase of the status line
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::string body;

    // The first value of a header (case-insensitive name), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
    std::size_t count(std::string_view name) const;
};

class http_connection {
  public:
    // `receive_buffer` > 0: the socket's SO_RCVBUF, set before connecting (a slow reader).
    explicit http_connection(std::uint16_t port,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10),
                             int receive_buffer = 0);
    ~http_connection();
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    bool connected() const { return fd_ >= 0; }
    bool send_raw(std::string_view bytes);
    // Reads one reply; `head` when it answers a HEAD (no body follows). nullopt on a closed
    // connection, a timeout or bytes that are not HTTP.
    std::optional<http_reply> read_reply(bool head = false);
    // True when the server closed the connection (EOF) within `timeout`.
    bool closed_by_peer(std::chrono::milliseconds timeout);

    std::optional<http_reply> request(
        std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string, std::string>>& headers = {},
        std::string_view body = {});

  private:
    int fd_ = -1;
    std::string buffered_;
};

// One request on a fresh connection; a reply with status 0 when none came.
http_reply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        std::string_view body = {});

}  // namespace prom::test
