// The opening handshake's request checks (RFC 6455 §4.2.1), done before Beast accepts:
// so that every refusal is the server's JSON error (`{"error","message"}`, no-store) with
// the right status, and so that the rules are checked in one visible place. No I/O here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prom::ws {

// What the checks read of an upgrade request; absent headers are nullopt.
struct upgrade_request {
    std::string_view method;  // as sent, e.g. "GET"
    unsigned version = 11;    // 10 for HTTP/1.0, 11 for HTTP/1.1
    std::optional<std::string_view> host;
    std::optional<std::string_view> connection;  // the Connection header (a token list)
    std::optional<std::string_view> upgrade;     // the Upgrade header (a token list)
    std::optional<std::string_view> key;         // Sec-WebSocket-Key
    std::optional<std::string_view> ws_version;  // Sec-WebSocket-Version
    // Sec-WebSocket-Key or Sec-WebSocket-Version given on more than one line, which
    // RFC 6455 (§11.3.1, §11.3.5) forbids.
    bool repeated_key = false;
    bool repeated_version = false;
};

struct handshake_refusal {
    unsigned status;  // 400, 405 or 426
    std::string code;
    std::string message;
    std::vector<std::pair<std::string, std::string>> headers;  // Allow, Sec-WebSocket-Version
};

// nullopt when the request is a valid WebSocket upgrade.
std::optional<handshake_refusal> check_upgrade(const upgrade_request& r);

// The base64 text of exactly 16 bytes: 22 base64 characters and "==".
bool valid_websocket_key(std::string_view key);

}  // namespace prom::ws
