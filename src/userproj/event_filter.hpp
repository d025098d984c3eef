// `where`: a Mongo-style filter on an event, compiled once.
//
// {"payload.status": "paid"} (equality), {"payload.n": {"$gt": 3, "$lte": 9}},
// {"$or": [{…}, {…}]}, {"$and": [{…}]}; operators $eq $ne $gt $gte $lt $lte $in $nin
// $exists. Numbers compare by value (1 == 1.0), strings by bytes; an order comparison
// between different kinds is false. A missing field: equality, $gt… and $in are false,
// $ne and $nin true, $exists says false. docs/projectors.md has the full rules.
#pragma once

#include <expected>
#include <vector>

#include "prom/user_projector.hpp"
#include "userproj/event_path.hpp"

namespace prom::userproj {

struct event_filter {
    enum class op { all_of, any_of, eq, ne, gt, gte, lt, lte, in, nin, exists };
    op o = op::all_of;
    std::vector<event_filter> children;  // all_of, any_of
    event_path path;
    json::value operand;  // in/nin: an array; exists: a bool
};

std::expected<event_filter, definition_error> compile_filter(const json::value& where,
                                                             const std::string& pointer);

bool matches(const event_filter& f, const event& e);

// Deep equality where numbers compare by value.
bool json_equal(const json::value& a, const json::value& b);

}  // namespace prom::userproj
