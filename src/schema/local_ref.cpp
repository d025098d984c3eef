#include "schema/local_ref.hpp"

#include <algorithm>

// As in json_schema.cpp: valijson's inline functions must be the same in every file.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/internal/json_pointer.hpp>

namespace prom::schema {

std::string ref_pointer(std::string_view ref) {
    std::string pointer(ref.substr(1));  // after '#'
    pointer.erase(pointer.find_last_not_of('/') + 1);
    return pointer;
}

const json::value* ref_target(const json::value& root, const std::string& pointer) {
    const json::value* here = &root;
    for (auto token_start = pointer.cbegin(); token_start != pointer.cend();) {
        if (*token_start != '/') return nullptr;
        auto token_end = std::find(token_start + 1, pointer.cend(), '/');
        std::string token;
        try {
            token =
                valijson::internal::json_pointer::extractReferenceToken(token_start + 1, token_end);
        } catch (const std::exception&) {
            return nullptr;
        }
        token_start = token_end;
        if (token.empty()) continue;
        if (here->is_array()) {
            const auto& items = here->get_array();
            std::size_t index = 0;
            try {
                index = std::stoul(token);
            } catch (const std::exception&) {
                return nullptr;
            }
            if (index >= items.size()) return nullptr;
            here = &items[index];
        } else if (here->is_object()) {
            here = here->get_object().if_contains(token);
            if (!here) return nullptr;
        } else {
            return nullptr;
        }
    }
    return here;
}

const json::value* resolve_local_ref(const json::value& root, std::string_view ref) {
    if (!ref.starts_with('#')) return nullptr;
    return ref_target(root, ref_pointer(ref));
}

}  // namespace prom::schema
