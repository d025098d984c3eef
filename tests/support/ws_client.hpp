// A deliberately raw WebSocket client for tests: plain sockets, frames built by hand, so
// tests can send what a well-behaved library never would (unmasked frames, reserved bits,
// bad opcodes, broken UTF-8) and see exactly what the server answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prom::test {

class raw_ws {
  public:
    struct handshake {
        int status = 0;        // the HTTP status of the upgrade answer (101 on success)
        std::string response;  // its head (and body, when not 101)
    };
    struct frame {
        std::uint8_t opcode = 0;
        bool fin = true;
        std::string payload;
    };

    // Connects to 127.0.0.1:port and sends an upgrade for `path` with `extra_headers`
    // ("Name: value" each). With `version` other than "13" or an empty `key`, the request is
    // deliberately wrong.
    static std::unique_ptr<raw_ws> connect(std::uint16_t port, handshake& result,
                                           const std::string& path = "/ws",
                                           const std::vector<std::string>& extra_headers = {},
                                           const std::string& version = "13",
                                           const std::string& key = "dGhlIHNhbXBsZSBub25jZQ==",
                                           int receive_buffer_bytes = 0,  // 0: the kernel's
                                           // bytes sent in the same write as the request
                                           const std::string& sent_with_request = "");
    ~raw_ws();

    // One frame's bytes, masked as a client's are unless `masked` is false.
    static std::string encode_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                                    bool masked = true, std::uint8_t rsv_bits = 0);

    bool send_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                    bool masked = true, std::uint8_t rsv_bits = 0);
    bool send_text(std::string_view text) { return send_frame(0x1, text); }

    // The next frame, or nullopt on timeout or end of stream.
    std::optional<frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // The next text message (pings answered, pongs skipped); nullopt on close or timeout.
    std::optional<std::string> read_text(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Reads until a close frame; its status code (1005 when it has none), or nullopt when
    // the connection ended without one.
    std::optional<std::uint16_t> read_close(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True when the server closed the TCP connection (or sent a close frame) within timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout);

    void stop_reading_for_a_while() {}  // documentation: a test simply does not call read_*

  private:
    explicit raw_ws(int fd) : fd_(fd) {}
    bool read_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point deadline);
    int fd_;
    std::string pending_;  // bytes read past the handshake
};

}  // namespace prom::test
