#include "http/request.hpp"

namespace prom::http {

bool is_json_content_type(std::optional<std::string_view> content_type) {
    if (!content_type) return false;
    auto type = content_type->substr(0, content_type->find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
    constexpr std::string_view want = "application/json";
    if (type.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i) {
        char c = type[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != want[i]) return false;
    }
    return true;
}

}  // namespace prom::http
