// Refusing the fields a request does not know: a typo ("manualack") must be an error, never
// a setting silently left at its default.
#pragma once

#include <algorithm>
#include <boost/json/object.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace prom {

// The first member of `o` whose name is not in `known`, or nothing when every name is known.
inline std::optional<std::string_view> first_unknown_field(
    const boost::json::object& o, std::initializer_list<std::string_view> known) {
    for (const auto& m : o) {
        if (std::find(known.begin(), known.end(), m.key()) == known.end()) {
            return std::string_view(m.key());
        }
    }
    return std::nullopt;
}

// "unknown field 'x' (known: a, b, c)": the message every such refusal uses.
inline std::string unknown_field_message(std::string_view name,
                                         std::initializer_list<std::string_view> known) {
    std::string message = "unknown field '" + std::string(name) + "' (known: ";
    bool first = true;
    for (auto k : known) {
        if (!first) message += ", ";
        message += k;
        first = false;
    }
    return message + ")";
}

}  // namespace prom
