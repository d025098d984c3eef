#include "http/conditional.hpp"

#include "http/http_date.hpp"

namespace prom::http {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view opaque_part(std::string_view tag) {  // "x" of W/"x"
    return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

// Calls `member` with each member of an If-Match or If-None-Match list, `*` or an entity tag
// as sent (W/ included). The whole list is read before anything is decided: false when a
// member is malformed ("*garbage", a tag followed by ";q=1"), and a broken header decides
// nothing by itself (docs/etag-semantics.md).
template <class Member>
bool each_member(std::string_view list, Member&& member) {
    std::size_t i = 0;
    while (i < list.size()) {
        while (i < list.size() && (is_ows(list[i]) || list[i] == ',')) ++i;
        if (i >= list.size()) break;
        std::size_t end = 0;
        if (list[i] == '*') {
            member(list.substr(i, 1));
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
            member(list.substr(start, close + 1 - start));
            end = close + 1;
        }
        // A member ends at a comma (after optional whitespace) or at the end of the list.
        while (end < list.size() && is_ows(list[end])) ++end;
        if (end < list.size() && list[end] != ',') return false;
        i = end;
    }
    return true;
}

// If-Match (RFC 9110 13.1.1): `*` while the resource exists, or a tag equal to `etag` by the
// strong comparison (neither is weak).
bool if_match_holds(std::string_view list, std::optional<std::string_view> etag) {
    bool matched = false;
    const bool well_formed = each_member(list, [&](std::string_view m) {
        matched = matched || m == "*" ||
                  (etag && !m.starts_with("W/") && m == *etag && !etag->starts_with("W/"));
    });
    return well_formed && matched;
}

}  // namespace

bool if_none_match_matches(std::string_view list, std::string_view etag) {
    const std::string_view ours = opaque_part(etag);
    bool matched = false;
    const bool well_formed = each_member(
        list, [&](std::string_view m) { matched = matched || m == "*" || opaque_part(m) == ours; });
    return well_formed && matched;
}

bool preconditions_hold(const preconditions& p, std::optional<std::string_view> etag,
                        std::optional<std::int64_t> modified_seconds) {
    if (p.if_match) {
        if (!if_match_holds(*p.if_match, etag)) return false;
    } else if (p.if_unmodified_since && modified_seconds) {
        // An invalid date is ignored (RFC 9110 13.1.4), as two dates on two lines are.
        auto since = parse_http_date(*p.if_unmodified_since);
        if (since && *modified_seconds > *since) return false;
    }
    // The resource exists: `*` matches it; a list matches its tag (none: only `*`).
    return !p.if_none_match || !if_none_match_matches(*p.if_none_match, etag.value_or(""));
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
