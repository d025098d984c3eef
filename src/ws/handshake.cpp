#include "ws/handshake.hpp"

#include <cctype>

#include "core/text.hpp"

namespace prom::ws {

namespace {

// True when the comma-separated list `value` has `token` (case-insensitive, RFC 9110 §5.6.1).
bool has_token(std::optional<std::string_view> value, std::string_view token) {
    if (!value) return false;
    std::string_view rest = *value;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = trim_ows(rest.substr(0, comma));
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return false;
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

handshake_refusal bad(std::string message) { return {400, "bad_request", std::move(message), {}}; }

}  // namespace

bool valid_websocket_key(std::string_view key) {
    // 16 bytes are 128 bits: 22 characters of 6 bits (the last carries 2 bits of padding),
    // then "==".
    if (key.size() != 24 || !key.ends_with("==")) return false;
    for (std::size_t i = 0; i < 22; ++i) {
        if (!is_base64_char(key[i])) return false;
    }
    return true;
}

std::optional<handshake_refusal> check_upgrade(const upgrade_request& r) {
    if (r.method != "GET") {
        return handshake_refusal{
            405, "method_not_allowed", "a WebSocket upgrade is a GET request", {{"Allow", "GET"}}};
    }
    if (r.version < 11) {
        return bad("a WebSocket upgrade needs HTTP/1.1 (RFC 6455 §4.1); this request is HTTP/1.0");
    }
    if (!r.host) return bad("the upgrade request has no Host header");
    if (!has_token(r.connection, "upgrade")) {
        return bad("the upgrade request needs 'Connection: Upgrade'");
    }
    if (!has_token(r.upgrade, "websocket")) {
        return bad("the upgrade request needs 'Upgrade: websocket'");
    }
    // Found from outside: two keys were answered for the first, two versions taken as one.
    if (r.repeated_key || r.repeated_version) {
        return bad(std::string(r.repeated_key ? "Sec-WebSocket-Key" : "Sec-WebSocket-Version") +
                   " may appear only once (RFC 6455 §11.3)");
    }
    if (!r.ws_version || *r.ws_version != "13") {
        return handshake_refusal{426,
                                 "upgrade_required",
                                 "this server speaks WebSocket version 13 (Sec-WebSocket-Version)",
                                 {{"Sec-WebSocket-Version", "13"}}};
    }
    if (!r.key) return bad("the upgrade request has no Sec-WebSocket-Key");
    if (!valid_websocket_key(*r.key)) {
        return bad("Sec-WebSocket-Key must be the base64 of 16 bytes (RFC 6455 §4.2.1)");
    }
    return std::nullopt;
}

}  // namespace prom::ws
