#include "http/conditional.hpp"

#include "http/http_date.hpp"

namespace prom::http {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view opaque_part(std::string_view tag) {  // "x" of W/"x"
    return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

}  // namespace

bool if_none_match_matches(std::string_view list, std::string_view etag) {
    // The whole list is read before anything matches: a header with a malformed member
    // ("*garbage", a tag followed by ";q=1") is broken, and a broken header never answers
    // 304 (docs/etag-semantics.md), whatever its other members say.
    const std::string_view ours = opaque_part(etag);
    bool matched = false;
    std::size_t i = 0;
    while (i < list.size()) {
        while (i < list.size() && (is_ows(list[i]) || list[i] == ',')) ++i;
        if (i >= list.size()) break;
        std::size_t end = 0;
        if (list[i] == '*') {
            matched = true;
            end = i + 1;
        } else {
            std::size_t start = i;
            if (list.compare(i, 2, "W/") == 0) i += 2;
            if (i >= list.size() || list[i] != '"') return false;
            auto close = list.find('"', i + 1);
            if (close == std::string_view::npos) return false;
            // etagc (RFC 9110 8.8.3): %x21 / %x23-7E / obs-text; a space or a control
            // inside the quotes makes the member malformed.
            for (std::size_t k = i + 1; k < close; ++k) {
                if (static_cast<unsigned char>(list[k]) <= 0x20 || list[k] == 0x7f) return false;
            }
            matched = matched || opaque_part(list.substr(start, close + 1 - start)) == ours;
            end = close + 1;
        }
        // A member ends at a comma (after optional whitespace) or at the end of the list.
        while (end < list.size() && is_ows(list[end])) ++end;
        if (end < list.size() && list[end] != ',') return false;
        i = end;
    }
    return matched;
}

bool not_modified(const conditional_headers& h, std::string_view etag,
                  std::int64_t modified_seconds) {
    if (h.if_none_match) return if_none_match_matches(*h.if_none_match, etag);
    if (h.if_modified_since) {
        auto since = parse_http_date(*h.if_modified_since);
        return since && modified_seconds <= *since;
    }
    return false;
}

}  // namespace prom::http
