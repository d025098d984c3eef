#include "userproj/event_filter.hpp"

#include "userproj/json_pointer.hpp"

namespace prom::userproj {

namespace {

using op = event_filter::op;

std::unexpected<definition_error> refuse(std::string message, std::string pointer) {
    return std::unexpected(definition_error{std::move(message), std::move(pointer)});
}

bool is_operator_object(const json::value& v) {
    const json::object* o = v.if_object();
    if (!o || o->empty()) return false;
    for (const auto& m : *o) {
        if (!m.key().starts_with('$')) return false;
    }
    return true;
}

std::expected<event_filter, definition_error> compile_condition(const event_path& path,
                                                                std::string_view name,
                                                                const json::value& operand,
                                                                const std::string& pointer) {
    event_filter f;
    f.path = path;
    f.operand = operand;
    if (name == "$eq") {
        f.o = op::eq;
    } else if (name == "$ne") {
        f.o = op::ne;
    } else if (name == "$gt" || name == "$gte" || name == "$lt" || name == "$lte") {
        f.o = name == "$gt" ? op::gt : name == "$gte" ? op::gte : name == "$lt" ? op::lt : op::lte;
        if (!operand.is_number() && !operand.is_string()) {
            return refuse(std::string(name) + " needs a number or a string", pointer);
        }
    } else if (name == "$in" || name == "$nin") {
        f.o = name == "$in" ? op::in : op::nin;
        if (!operand.is_array()) return refuse(std::string(name) + " needs an array", pointer);
    } else if (name == "$exists") {
        f.o = op::exists;
        if (!operand.is_bool()) return refuse("$exists needs true or false", pointer);
    } else {
        return refuse("unknown filter operator '" + std::string(name) +
                          "' (known: $eq $ne $gt $gte $lt $lte $in $nin $exists)",
                      pointer);
    }
    return f;
}

// -1, 0, 1, or nullopt when a and b do not order (different kinds, or not numbers/strings).
std::optional<int> order(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_int64() && b.is_int64()) {
            auto x = a.get_int64(), y = b.get_int64();
            return x < y ? -1 : x > y ? 1 : 0;
        }
        boost::system::error_code e1, e2;
        double x = a.to_number<double>(e1), y = b.to_number<double>(e2);
        if (x < y) return -1;
        if (x > y) return 1;
        if (x == y) return 0;
        return std::nullopt;  // NaN cannot come from JSON, but stay total
    }
    if (a.is_string() && b.is_string()) {
        int c = std::string_view(a.get_string()).compare(std::string_view(b.get_string()));
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return std::nullopt;
}

bool in_array(const json::value& v, const json::value& arr) {
    for (const auto& item : arr.get_array()) {
        if (json_equal(v, item)) return true;
    }
    return false;
}

}  // namespace

bool json_equal(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) return order(a, b) == 0;
    if (a.kind() != b.kind()) return false;
    if (const json::object* x = a.if_object()) {
        const json::object& y = b.get_object();
        if (x->size() != y.size()) return false;
        for (const auto& m : *x) {
            auto it = y.find(m.key());
            if (it == y.end() || !json_equal(m.value(), it->value())) return false;
        }
        return true;
    }
    if (const json::array* x = a.if_array()) {
        const json::array& y = b.get_array();
        if (x->size() != y.size()) return false;
        for (std::size_t i = 0; i < x->size(); ++i) {
            if (!json_equal((*x)[i], y[i])) return false;
        }
        return true;
    }
    return a == b;
}

std::expected<event_filter, definition_error> compile_filter(const json::value& where,
                                                             const std::string& pointer) {
    const json::object* o = where.if_object();
    if (!o) return refuse("a filter is an object", pointer);
    event_filter all;
    all.o = op::all_of;
    for (const auto& m : *o) {
        std::string at = pointer_join(pointer, m.key());
        std::string_view name = m.key();
        if (name == "$and" || name == "$or") {
            const json::array* parts = m.value().if_array();
            if (!parts || parts->empty())
                return refuse(std::string(name) + " needs a non-empty array of filters", at);
            event_filter group;
            group.o = name == "$and" ? op::all_of : op::any_of;
            for (std::size_t i = 0; i < parts->size(); ++i) {
                auto sub = compile_filter((*parts)[i], pointer_join(at, i));
                if (!sub) return sub;
                group.children.push_back(std::move(*sub));
            }
            all.children.push_back(std::move(group));
            continue;
        }
        if (name.starts_with('$')) {
            return refuse("unknown filter operator '" + std::string(name) +
                              "' at the top of a filter (known: $and, $or)",
                          at);
        }
        auto path = parse_event_path(name);
        if (!path) return refuse(path.error(), at);
        if (is_operator_object(m.value())) {
            for (const auto& c : m.value().get_object()) {
                auto cond = compile_condition(*path, c.key(), c.value(), pointer_join(at, c.key()));
                if (!cond) return cond;
                all.children.push_back(std::move(*cond));
            }
        } else {
            auto cond = compile_condition(*path, "$eq", m.value(), at);
            if (!cond) return cond;
            all.children.push_back(std::move(*cond));
        }
    }
    return all;
}

bool matches(const event_filter& f, const event& e) {
    switch (f.o) {
        case op::all_of:
            for (const auto& c : f.children) {
                if (!matches(c, e)) return false;
            }
            return true;
        case op::any_of:
            for (const auto& c : f.children) {
                if (matches(c, e)) return true;
            }
            return false;
        default:
            break;
    }
    json::value scratch;
    const json::value* v = lookup(e, f.path, scratch);
    switch (f.o) {
        case op::exists:
            return (v != nullptr) == f.operand.get_bool();
        case op::eq:
            return v && json_equal(*v, f.operand);
        case op::ne:
            return !v || !json_equal(*v, f.operand);
        case op::in:
            return v && in_array(*v, f.operand);
        case op::nin:
            return !v || !in_array(*v, f.operand);
        default:
            break;
    }
    if (!v) return false;
    auto c = order(*v, f.operand);
    if (!c) return false;
    switch (f.o) {
        case op::gt:
            return *c > 0;
        case op::gte:
            return *c >= 0;
        case op::lt:
            return *c < 0;
        case op::lte:
            return *c <= 0;
        default:
            return false;
    }
}

}  // namespace prom::userproj
