#include "http/request.hpp"

#include <algorithm>
#include <string>

#include "core/text.hpp"
#include "http/percent.hpp"

namespace prom::http {

bool is_json_content_type(std::optional<std::string_view> content_type) {
    if (!content_type) return false;
    auto type = trim_ows(content_type->substr(0, content_type->find(';')));
    constexpr std::string_view want = "application/json";
    if (type.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i) {
        char c = type[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != want[i]) return false;
    }
    return true;
}

std::optional<std::string> first_param_name(std::string_view query,
                                            std::initializer_list<std::string_view> known) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        std::string name = decode_query_component(item.substr(0, item.find('=')));
        if (std::find(known.begin(), known.end(), name) == known.end()) return name;
    }
    return std::nullopt;
}

std::optional<std::string> param_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto eq = item.find('=');
        if (decode_query_component(item.substr(0, eq)) != name) continue;
        return eq == std::string_view::npos ? std::string()
                                            : decode_query_component(item.substr(eq + 1));
    }
    return std::nullopt;
}

result<bool> flag_param(std::string_view query, std::string_view name) {
    bool on = false, seen = false;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        auto eq = part.find('=');
        std::string key = decode_query_component(part.substr(0, eq));
        std::string value =
            eq == std::string_view::npos ? "true" : decode_query_component(part.substr(eq + 1));
        if (key == name) {
            // `dry_run=true&dry_run=false`: which one was meant is a guess, and one of them
            // deletes events.
            if (seen) return fail(errc::invalid_argument, "'" + key + "' is given twice");
            seen = true;
            if (value != "true" && value != "false") {
                return fail(errc::invalid_argument, "'" + key + "' is true or false");
            }
            on = value == "true";
        } else if (!key.empty()) {
            return fail(errc::invalid_argument,
                        "unknown parameter '" + key + "' (" + std::string(name) + ")");
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return on;
}

}  // namespace prom::http
