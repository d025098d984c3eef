// GET /, /ui, /ui/ and /ui/assets/{file}: the dashboard (docs/dashboard.md), served from
// the files built into the binary. No token is needed for them: they hold no data, and the
// page asks for the token before it reads anything.
#include <charconv>

#include "http/api.hpp"
#include "http/conditional.hpp"
#include "http/ui_assets.hpp"

namespace prom::http {

namespace {

// Relative, so that the dashboard works behind a reverse proxy that mounts prom under a
// path prefix (docs/dashboard.md).
response redirect(unsigned status, std::string_view location) {
    response r;
    r.status = status;
    r.route = route_id::ui;
    r.head = "Location: ";
    r.head += location;
    r.head += "\r\nCache-Control: no-store\r\nContent-Length: 0\r\n";
    return r;
}

void append_header(std::string& head, std::string_view name, std::string_view value) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
}

}  // namespace

std::optional<response> api::ui(const request& r, std::string_view path) {
    if (path == "/") return redirect(302, "ui/");
    if (path == "/ui") return redirect(301, "ui/");
    const embedded_file* file = nullptr;
    for (const auto& f : ui_files()) {
        if (f.path == path) {
            file = &f;
            break;
        }
    }
    if (!file) return std::nullopt;
    response out;
    out.route = route_id::ui;
    // Hashed names never change content, so a year without revalidation is safe; the page
    // names the current hashes and is revalidated every time (a 304 when unchanged).
    append_header(out.head, "Cache-Control",
                  file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    append_header(out.head, "ETag", file->etag);
    append_header(out.head, "X-Content-Type-Options", "nosniff");
    if (!file->csp.empty()) {
        append_header(out.head, "Content-Security-Policy", file->csp);
        append_header(out.head, "Referrer-Policy", "no-referrer");
    }
    if (r.if_none_match && if_none_match_matches(*r.if_none_match, file->etag)) {
        out.status = 304;
        return out;
    }
    out.status = 200;
    append_header(out.head, "Content-Type", file->content_type);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, file->body.size());
    append_header(out.head, "Content-Length", std::string_view(buf, end));
    out.static_body = file->body;
    return out;
}

}  // namespace prom::http
