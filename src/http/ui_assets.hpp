// The dashboard's files (docs/dashboard.md), built into the binary: ui/embed.mjs generates
// their definition from ui/ at build time.
//
// Immutable static data: safe from any thread, valid for the whole program.
#pragma once

#include <span>
#include <string_view>

namespace prom::http {

struct embedded_file {
    std::string_view path;          // "/ui/" (the page) or "/ui/assets/NAME.HASH.EXT"
    std::string_view content_type;  // with charset for text
    std::string_view etag;          // strong, quoted: a hash of the body
    std::string_view body;
    bool immutable;        // a content-hashed name: cacheable for a year, never revalidated
    std::string_view csp;  // Content-Security-Policy of the page; empty for assets
};

std::span<const embedded_file> ui_files();

}  // namespace prom::http
