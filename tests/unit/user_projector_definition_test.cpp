// Parsing and validating user-defined projector definitions: every bad-input class is
// refused with a JSON Pointer to the offending field.
#include <gtest/gtest.h>

#include "prom/user_projector.hpp"

namespace prom {
namespace {

json::value parse_or_die(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v) << text;
    return v ? *v : json::value();
}

// The issue's example, extended below by each case.
constexpr std::string_view orders = R"({
  "name": "orders", "version": 1, "topic": "order.*", "from": "earliest",
  "where": {"payload.status": {"$ne": "draft"}},
  "writes": [
    {"collection": "orders", "key": "{payload.orderId}",
     "update": {"$set": {"status": "$payload.status", "updatedAt": "$ts"},
                "$inc": {"revisions": 1}, "$setOnInsert": {"createdAt": "$ts"}}},
    {"collection": "customer_stats", "key": "{payload.customer}", "update": {"$inc": {"orders": 1}}}
  ],
  "emit": [{"topic": "audit.order", "key": "{key}", "payload": {"order": "$payload.orderId", "at": "$ts"}}]
})";

// Sets the member at a JSON Pointer, making objects on the way (Boost 1.81 has no
// set_at_pointer).
void set_at(json::value& root, std::string_view pointer, json::value v) {
    json::value* at = &root;
    while (!pointer.empty()) {
        pointer.remove_prefix(1);
        auto slash = pointer.find('/');
        std::string token(pointer.substr(0, slash));
        pointer = slash == std::string_view::npos ? std::string_view{} : pointer.substr(slash);
        for (std::size_t i; (i = token.find("~1")) != std::string::npos;) token.replace(i, 2, "/");
        for (std::size_t i; (i = token.find("~0")) != std::string::npos;) token.replace(i, 2, "~");
        if (json::array* a = at->if_array()) {
            at = &(*a)[std::stoul(token)];
        } else {
            if (!at->is_object()) at->emplace_object();
            at = &at->get_object()[token];
        }
    }
    *at = std::move(v);
}

json::object orders_with(std::string_view pointer, std::string_view json_value) {
    json::value v = parse_or_die(orders);
    if (!json_value.empty()) set_at(v, pointer, parse_or_die(json_value));
    return v.get_object();
}

definition_error refused(const json::value& body) {
    auto d = parse_projector_definition(body);
    EXPECT_FALSE(d) << canonical_json(body);
    return d ? definition_error{} : d.error();
}

std::string pointer_of(std::string_view pointer, std::string_view json_value) {
    return refused(orders_with(pointer, json_value)).pointer;
}

TEST(user_projector_definition, the_issue_example_parses) {
    auto d = parse_projector_definition(parse_or_die(orders));
    ASSERT_TRUE(d) << d.error().message << " at " << d.error().pointer;
    EXPECT_EQ(d->name, "orders");
    EXPECT_EQ(d->version, 1);
    EXPECT_EQ(d->topic, "order.*");
    EXPECT_EQ(d->from, start_from::earliest);
    EXPECT_FALSE(d->rebuild);
    EXPECT_EQ(d->collections, (std::vector<std::string>{"customer_stats", "orders"}));
    EXPECT_EQ(d->emit_topics, (std::vector<std::string>{"audit.order"}));
    EXPECT_EQ(canonical_json(d->source), canonical_json(parse_or_die(orders)));
    ASSERT_NE(d->compiled, nullptr);
}

TEST(user_projector_definition, refuses_what_is_not_an_object_with_the_empty_pointer) {
    EXPECT_EQ(refused(json::array{}).pointer, "");
    EXPECT_EQ(refused(json::value("x")).pointer, "");
}

TEST(user_projector_definition, refuses_unknown_fields_with_escaped_pointers) {
    EXPECT_EQ(pointer_of("/wirtes", "[]"), "/wirtes");
    EXPECT_EQ(pointer_of("/a~1b~0c", "1"), "/a~1b~0c");  // the field "a/b~c"
    EXPECT_EQ(pointer_of("/writes/0/colection", "\"x\""), "/writes/0/colection");
    EXPECT_EQ(pointer_of("/emit/0/paylod", "1"), "/emit/0/paylod");
}

TEST(user_projector_definition, refuses_bad_names_versions_and_modes) {
    EXPECT_EQ(pointer_of("/name", "\"has space\""), "/name");
    EXPECT_EQ(pointer_of("/name", "\"" + std::string(101, 'a') + "\""), "/name");
    EXPECT_EQ(pointer_of("/name", "7"), "/name");
    EXPECT_EQ(pointer_of("/name", "\".\""), "/name");   // /projectors/. is /projectors/
    EXPECT_EQ(pointer_of("/name", "\"..\""), "/name");  // and /projectors/.. is /
    EXPECT_TRUE(parse_projector_definition(orders_with("/name", "\"...\"")));
    EXPECT_TRUE(
        parse_projector_definition(orders_with("/name", "\"" + std::string(100, 'a') + "\"")));
    EXPECT_EQ(pointer_of("/version", "0"), "/version");
    EXPECT_EQ(pointer_of("/version", "\"2\""), "/version");
    EXPECT_EQ(pointer_of("/version", "1.5"), "/version");
    EXPECT_EQ(pointer_of("/from", "\"middle\""), "/from");
    EXPECT_EQ(pointer_of("/rebuild", "\"yes\""), "/rebuild");
    json::object no_name = orders_with("", "");
    no_name.erase("name");
    EXPECT_EQ(refused(no_name).pointer, "/name");
}

TEST(user_projector_definition, refuses_invalid_topic_patterns) {
    EXPECT_EQ(pointer_of("/topic", "\"ord*er\""), "/topic");
    EXPECT_EQ(pointer_of("/topic", "\"*\""), "/topic");
    EXPECT_EQ(pointer_of("/topic", "\"has space.*\""), "/topic");
    EXPECT_EQ(pointer_of("/topic", "\"\""), "/topic");
    EXPECT_TRUE(parse_projector_definition(orders_with("/topic", "\"order.created\"")));
}

TEST(user_projector_definition, refuses_bad_filters) {
    EXPECT_EQ(pointer_of("/where", R"({"payload.x": {"$regex": "a"}})"), "/where/payload.x/$regex");
    EXPECT_EQ(pointer_of("/where", R"({"foo.x": 1})"), "/where/foo.x");
    EXPECT_EQ(pointer_of("/where", R"({"payload.x": {"$in": 3}})"), "/where/payload.x/$in");
    EXPECT_EQ(pointer_of("/where", R"({"payload.x": {"$exists": 1}})"), "/where/payload.x/$exists");
    EXPECT_EQ(pointer_of("/where", R"({"payload.x": {"$gt": [1]}})"), "/where/payload.x/$gt");
    EXPECT_EQ(pointer_of("/where", R"({"$or": [{"key": "a"}, {"nope": 1}]})"), "/where/$or/1/nope");
    EXPECT_EQ(pointer_of("/where", R"({"$nor": []})"), "/where/$nor");
    EXPECT_EQ(pointer_of("/where", R"({"headers": "x"})"), "/where/headers");
    EXPECT_EQ(pointer_of("/where", "[1]"), "/where");
}

TEST(user_projector_definition, refuses_references_into_nothing) {
    EXPECT_EQ(pointer_of("/writes/0/update/$set/status", "\"$foo\""),
              "/writes/0/update/$set/status");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/status", "\"$headers\""),
              "/writes/0/update/$set/status");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/status", "\"$key.x\""),
              "/writes/0/update/$set/status");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/status", "\"$payload..x\""),
              "/writes/0/update/$set/status");
    EXPECT_EQ(pointer_of("/writes/0/key", "\"{foo}\""), "/writes/0/key");
    EXPECT_EQ(pointer_of("/writes/0/key", "\"{payload.x\""), "/writes/0/key");
    EXPECT_EQ(pointer_of("/writes/0/key", "\"a}b\""), "/writes/0/key");
    EXPECT_EQ(pointer_of("/emit/0/payload", R"({"deep": ["$nothing"]})"), "/emit/0/payload/deep/0");
    // Literal dollars and references that exist are fine.
    EXPECT_TRUE(parse_projector_definition(orders_with("/writes/0/update/$set/status", "\"$$5\"")));
    EXPECT_TRUE(parse_projector_definition(
        orders_with("/writes/0/update/$set/status", "\"$headers.trace\"")));
}

TEST(user_projector_definition, refuses_bad_updates) {
    EXPECT_EQ(pointer_of("/writes/0/update/$push", R"({"a": 1})"), "/writes/0/update/$push");
    EXPECT_EQ(pointer_of("/writes/0/update/$inc/revisions", "\"many\""),
              "/writes/0/update/$inc/revisions");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/_key", "\"k\""), "/writes/0/update/$set/_key");
    // The second mention of a field is the one refused ($set comes first in the body).
    EXPECT_EQ(pointer_of("/writes/0/update/$set/revisions", "1"),
              "/writes/0/update/$inc/revisions");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/a..b", "1"), "/writes/0/update/$set/a..b");
    EXPECT_EQ(pointer_of("/writes/0/update/$set/a.$x", "1"), "/writes/0/update/$set/a.$x");
    EXPECT_EQ(pointer_of("/writes/0/update", "{}"), "/writes/0/update");
    EXPECT_EQ(pointer_of("/writes/0/update", R"({"status": 1})"), "/writes/0/update/status");
    EXPECT_EQ(pointer_of("/writes/0/replace", R"({"a": 1})"),
              "/writes/0");  // both update and replace
    EXPECT_EQ(pointer_of("/writes/0/collection", "\"bad name\""), "/writes/0/collection");
    EXPECT_EQ(pointer_of("/writes/0/collection", "3"), "/writes/0/collection");
    EXPECT_EQ(pointer_of("/writes", "{}"), "/writes");
    EXPECT_EQ(pointer_of("/writes/0", "7"), "/writes/0");
}

TEST(user_projector_definition, accepts_a_whole_document_replacement) {
    json::object d = parse_or_die(orders).get_object();
    d["writes"] =
        parse_or_die(R"([{"collection": "snapshots", "key": "{key}", "replace": "$payload"},
                                   {"collection": "flat", "key": "x-{seq}", "replace": {"at": "$ts", "_ts": 5}}])");
    auto parsed = parse_projector_definition(d);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->collections, (std::vector<std::string>{"flat", "snapshots"}));
    d["writes"] = parse_or_die(R"([{"collection": "c", "key": "{key}", "replace": 5}])");
    EXPECT_EQ(refused(d).pointer, "/writes/0/replace");
    d["writes"] = parse_or_die(R"([{"collection": "c", "key": "{key}", "replace": {"$set": {}}}])");
    EXPECT_EQ(refused(d).pointer, "/writes/0/replace/$set");
}

// A literal _ts that can never be one is refused with the definition (found from outside:
// accepted, then every event was dead-lettered); a reference is checked at run time.
TEST(user_projector_definition, refuses_a_literal_ts_that_is_no_integer) {
    for (std::string_view bad : {R"("abc")", "1.5", "18446744073709551615", "true", "{}"}) {
        EXPECT_EQ(pointer_of("/writes/0/update/$set/_ts", bad), "/writes/0/update/$set/_ts") << bad;
    }
    EXPECT_EQ(pointer_of("/writes/0/update/$set/_ts.x", "1"), "/writes/0/update/$set/_ts.x");
    EXPECT_EQ(pointer_of("/writes/0/update/$setOnInsert/_ts", "\"$$ts\""),
              "/writes/0/update/$setOnInsert/_ts");
    for (std::string_view ok : {"1700000000000", "-5", R"("$ts")", R"("$payload.when")"}) {
        EXPECT_TRUE(parse_projector_definition(orders_with("/writes/0/update/$set/_ts", ok))) << ok;
    }
    json::object d = parse_or_die(orders).get_object();
    d["writes"] = parse_or_die(
        R"([{"collection": "c", "key": "{key}", "replace": {"at": "$ts", "_ts": "abc"}}])");
    EXPECT_EQ(refused(d).pointer, "/writes/0/replace/_ts");
}

TEST(user_projector_definition, refuses_emits_that_loop_or_name_bad_topics) {
    EXPECT_EQ(pointer_of("/emit/0/topic", "\"order.audit\""),
              "/emit/0/topic");  // order.* matches it
    EXPECT_EQ(pointer_of("/emit/0/topic", "\"bad topic\""), "/emit/0/topic");
    EXPECT_EQ(pointer_of("/emit/0/topic", "\"prom.alerts\""), "/emit/0/topic");  // alarms only
    EXPECT_EQ(pointer_of("/emit/0/headers", R"({"prom-x": "a"})"), "/emit/0/headers/prom-x");
    EXPECT_EQ(pointer_of("/emit/0/headers", R"({"h": 1})"), "/emit/0/headers/h");
}

TEST(user_projector_definition, needs_writes_emit_or_lua_and_not_both_kinds) {
    json::object d = parse_or_die(orders).get_object();
    d.erase("writes");
    d.erase("emit");
    EXPECT_EQ(refused(d).pointer, "");
    d["writes"] = json::array{};
    EXPECT_EQ(refused(d).pointer, "");
    json::object both = parse_or_die(orders).get_object();
    both["lua"] = "function handle(e, tx) end";
    EXPECT_EQ(refused(both).pointer, "/lua");
    // An empty list of the other kind too (found from outside: it was stored).
    for (std::string_view kind : {"writes", "emit"}) {
        json::object lua_and_empty{{"name", "l"},
                                   {"topic", "in"},
                                   {"lua", "function handle(e, tx) end"},
                                   {kind, json::array{}}};
        EXPECT_EQ(refused(lua_and_empty).pointer, "/lua") << kind;
    }
    json::object coll = parse_or_die(orders).get_object();
    coll["collections"] = json::array{"orders"};
    EXPECT_EQ(refused(coll).pointer, "/collections");
}

json::object lua_definition(std::string_view code) {
    return json::object{
        {"name", "l"}, {"topic", "in"}, {"lua", code}, {"collections", json::array{"out"}}};
}

TEST(user_projector_definition, lua_compiles_at_definition_time_with_the_line_of_an_error) {
    auto ok =
        parse_projector_definition(lua_definition("function handle(event, tx)\n  return 1\nend\n"));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->collections, (std::vector<std::string>{"out"}));

    auto syntax = refused(lua_definition("function handle(event, tx)\n  local x = = 1\nend\n"));
    EXPECT_EQ(syntax.pointer, "/lua");
    EXPECT_NE(syntax.message.find("lua:2:"), std::string::npos) << syntax.message;

    auto no_handle = refused(lua_definition("function other() end"));
    EXPECT_EQ(no_handle.pointer, "/lua");
    EXPECT_NE(no_handle.message.find("handle"), std::string::npos);

    auto loops = refused(lua_definition("while true do end"));
    EXPECT_EQ(loops.pointer, "/lua");
    EXPECT_NE(loops.message.find("budget"), std::string::npos) << loops.message;

    auto io = refused(lua_definition("local f = io.open('/etc/passwd')\nfunction handle() end"));
    EXPECT_EQ(io.pointer, "/lua");

    EXPECT_EQ(refused(lua_definition("")).pointer, "/lua");
    json::object bad_coll = lua_definition("function handle() end");
    bad_coll["collections"] = json::array{"ok", "bad name"};
    EXPECT_EQ(refused(bad_coll).pointer, "/collections/1");
    json::object twice = lua_definition("function handle() end");
    twice["collections"] = json::array{"x", "y", "x"};
    auto listed_twice = refused(twice);
    EXPECT_EQ(listed_twice.pointer, "/collections/2");
    EXPECT_NE(listed_twice.message.find("listed twice"), std::string::npos) << listed_twice.message;
    json::object bytecode = lua_definition("\x1bLua");
    EXPECT_EQ(refused(bytecode).pointer, "/lua");
}

TEST(user_projector_definition, topic_patterns_match_prefixes_but_not_dead_letters) {
    EXPECT_TRUE(topic_matches("order.created", "order.created"));
    EXPECT_FALSE(topic_matches("order.created", "order.created2"));
    EXPECT_TRUE(topic_matches("order.*", "order.created"));
    EXPECT_TRUE(topic_matches("order.*", "order."));
    EXPECT_FALSE(topic_matches("order.*", "orders"));
    EXPECT_FALSE(topic_matches("order.*", "order.created.dlq"));
    EXPECT_TRUE(
        topic_matches("in.dlq", "in.dlq"));  // named exactly, a dead-letter topic is a topic
}

}  // namespace
}  // namespace prom
