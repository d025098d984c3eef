// Values and keys of a definition with references into the event, compiled once.
//
// A value template is JSON in which a string starting with '$' is a reference
// ("$payload.a.b", "$key", "$ts", …) and "$$…" is a literal string starting with '$'.
// Subtrees without references are kept as one literal, copied per event.
// A key template is text with {path} parts ("order-{payload.orderId}"); "{{" and "}}"
// are literal braces.
#pragma once

#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "prom/user_projector.hpp"
#include "userproj/event_path.hpp"

namespace prom::userproj {

struct value_member;

struct value_template {
    enum class kind { literal, reference, object, array };
    kind k = kind::literal;
    json::value literal;
    event_path ref;
    std::vector<value_member> members;
    std::vector<value_template> items;
};

// A named member of an object template. A struct rather than std::pair: a pair of the
// still-incomplete value_template inside value_template does not compile with clang.
struct value_member {
    std::string name;
    value_template value;
};

// `pointer` is where `v` sits in the definition, for errors.
std::expected<value_template, definition_error> compile_value(const json::value& v,
                                                              const std::string& pointer);

// The value for one event; invalid_argument naming the path when a reference is missing.
result<json::value> expand(const value_template& t, const event& e);

struct key_template {
    struct part {
        bool is_path = false;
        std::string text;  // literal text when !is_path
        event_path path;
    };
    std::vector<part> parts;
};

std::expected<key_template, definition_error> compile_key(std::string_view text,
                                                          const std::string& pointer);

// The key for one event. A referenced string is used as is, a number or boolean as its
// JSON text; a missing path, null, object or array is an invalid_argument error.
result<std::string> expand(const key_template& t, const event& e);

}  // namespace prom::userproj
