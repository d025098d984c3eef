// What keeps a web page away from a server that has no tokens (docs/config.md, auth): such a
// server listens on loopback only, but a page the user visits can still reach loopback,
// with a WebSocket (browsers apply no same-origin rule to those) or through DNS rebinding
// (a name the page controls, answered with 127.0.0.1, so the page reads it as its own
// origin). Both are told apart by headers the browser sets and the page cannot:
// `Host` (the name the page used) and `Origin` (the page's own).
#pragma once

#include <optional>
#include <string_view>

namespace prom::auth {

// A `Host` header that names loopback: `localhost` (or a name under `.localhost`), an IPv4
// address in 127.0.0.0/8 or `[::1]`, with or without a port.
bool is_loopback_host(std::string_view host);

// An `Origin` that is the server's own: `http://` + the request's `Host` (case aside).
bool is_same_origin(std::string_view origin, std::string_view host);

}  // namespace prom::auth
