// The Lua handler called directly, event by event, over a memory store: values that have
// no JSON form, a tx kept past its call, emits and reads within one event.
#include <gtest/gtest.h>

#include <chrono>

#include "prom/user_projector.hpp"

namespace prom {
namespace {

class user_projector_lua : public testing::Test {
  protected:
    void SetUp() override {
        auto s = open_store("memory:");
        ASSERT_TRUE(s);
        store_ = std::move(*s);
    }

    void define(std::string_view lua, std::string_view where = "",
                user_handler_options options = {}) {
        json::object body{
            {"name", "t"}, {"topic", "in"}, {"collections", json::array{"out"}}, {"lua", lua}};
        if (!where.empty()) body["where"] = *parse_json(where);
        auto d = parse_projector_definition(body);
        ASSERT_TRUE(d) << d.error().message;
        handler_ = make_user_handler(std::make_shared<const projector_definition>(std::move(*d)),
                                     std::move(options));
    }

    // Runs one event through the handler in its own transaction (committed when ok).
    // `redelivered`: the event before it again, at the same seq.
    status apply(std::string_view payload, std::string id = "e1", headers_map headers = {},
                 bool redelivered = false) {
        event e;
        e.id = std::move(id);
        e.topic = "in";
        e.key = "k";
        e.ts = ts_ms{1000};
        e.seq = redelivered ? seq_ : ++seq_;
        e.payload = *parse_json(payload);
        e.headers = std::move(headers);
        auto txn = store_->begin();
        EXPECT_TRUE(txn);
        auto ok = handler_(e, **txn);
        if (ok) {
            EXPECT_TRUE((*txn)->commit());
        }
        return ok;
    }

    std::string error_of(std::string_view payload) {
        auto ok = apply(payload);
        EXPECT_FALSE(ok) << payload;
        return ok ? "" : ok.error().message;
    }

    std::string body(std::string_view key) {
        auto d = store_->find_one("out", key);
        return d && *d ? (*d)->body : "";
    }

    std::unique_ptr<store> store_;
    projector_handler handler_;
    seq_t seq_{};
};

TEST_F(user_projector_lua, values_without_a_json_form_fail_the_event_with_a_reason) {
    define(R"(function handle(event, tx)
  local k = event.payload.kind
  local v
  if k == 'nan' then v = 0/0
  elseif k == 'inf' then v = math.huge
  elseif k == 'fn' then v = print or function() end
  elseif k == 'mixed' then v = {1, 2, x = 3}
  elseif k == 'sparse' then v = {[1] = 1, [3] = 3}
  elseif k == 'cycle' then v = {} v.self = v
  elseif k == 'bytes' then v = '\255\254'
  end
  tx:update('out', 'x', {['$set'] = {v = v}})
end)");
    EXPECT_NE(error_of(R"({"kind":"nan"})").find("NaN"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"inf"})").find("NaN and infinities"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"fn"})").find("function"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"mixed"})").find("mixes"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"sparse"})").find("not strings"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"cycle"})").find("deeper than 64"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"bytes"})").find("UTF-8"), std::string::npos);
    EXPECT_EQ(body("x"), "");
}

// `$set` with a value that is not an object is refused like the other operators' (the
// event's `_ts` was stamped over it, so the update wrote an empty document).
TEST_F(user_projector_lua, set_with_a_value_that_is_not_an_object_is_refused) {
    define(R"(function handle(event, tx)
  local values = {five = 5, text = 'str', yes = true, null = prom.null}
  tx:update('out', event.payload.k, {['$set'] = values[event.payload.k]})
end)");
    for (const char* k : {"five", "text", "yes", "null"}) {
        auto m = error_of(std::string(R"({"k":")") + k + R"("})");
        EXPECT_NE(m.find("$set needs an object"), std::string::npos) << k << ": " << m;
        EXPECT_EQ(body(k), "") << k;
    }
}

TEST_F(user_projector_lua, a_kept_tx_acts_for_the_current_event_and_a_fake_one_is_refused) {
    define(R"(function handle(event, tx)
  if event.payload.keep then kept = tx return end
  if event.payload.fake then tx.update({}, 'out', 'x', {a = 1}) end
  kept:update('out', 'x', {['$inc'] = {n = 1}})
end)");
    ASSERT_TRUE(apply(R"({"keep":true})"));
    ASSERT_TRUE(apply(R"({})"));  // the one tx object always reaches the current transaction
    EXPECT_NE(body("x").find("\"n\":1"), std::string::npos);
    EXPECT_NE(error_of(R"({"fake":true})").find("prom.tx expected"), std::string::npos);
}

// An event 8 emits away from a published one emits no more: projectors that emit into each
// other's topics (which Lua's run-time topics hide from the check at definition) stop there.
// A "strict globals" guard on _G raises on unknown names: the handler's optional `erased` is
// looked up raw, so an erasure marker is skipped rather than failed (found from outside).
TEST_F(user_projector_lua, a_strict_globals_guard_does_not_fail_erasure_markers) {
    define(R"(function handle(event, tx) tx:update('out', event.key, {seen = true}) end
setmetatable(_G, {__index = function(_, k) error('undefined global ' .. tostring(k), 2) end}))");
    ASSERT_TRUE(apply("{}"));
    EXPECT_NE(body("k").find("\"seen\":true"), std::string::npos);
    ASSERT_TRUE(apply("null", "prom-erase:1", {{"prom-erased", "k"}}));
}

TEST_F(user_projector_lua, emits_stop_at_the_depth_limit) {
    define(R"(function handle(event, tx) tx:emit('next', event.key, event.payload) end)");
    ASSERT_TRUE(apply("{}", "shallow", {{"prom-depth", "3"}}));
    auto derived = store_->scan({.topic = "next"});
    ASSERT_TRUE(derived);
    ASSERT_EQ(derived->size(), 1u);
    EXPECT_EQ((*derived)[0].headers.at("prom-depth"), "4");
    auto deep = apply("{}", "deep", {{"prom-depth", "8"}});
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message.find("loop"), std::string::npos) << deep.error().message;
}

// An emitted payload nests no deeper than a publish may (found from outside: a declarative
// template made a 111-level event; a Lua table of 64 levels passed too).
TEST_F(user_projector_lua, an_emitted_payload_nests_no_deeper_than_a_publish_may) {
    define(R"(function handle(event, tx)
  local t = {}
  for i = 2, event.payload.levels do t = {t} end
  tx:emit('next', event.key, t)
end)");
    ASSERT_TRUE(apply(R"({"levels":63})", "ok"));
    auto deep = apply(R"({"levels":64})", "deep");
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message.find("nests deeper than 63 levels"), std::string::npos)
        << deep.error().message;
    EXPECT_EQ(store_->scan({.topic = "next"})->size(), 1u);
}

TEST_F(user_projector_lua, reads_see_the_events_own_writes_and_emits_have_derived_ids) {
    define(R"(function handle(event, tx)
  tx:update('out', 'x', {['$inc'] = {n = 1}})
  local doc = tx:get('out', 'x')
  tx:update('out', 'seen', {n = doc.n, key = doc._key, ts = doc._ts})
  tx:emit('derived', 'a', {n = doc.n}, {trace = 't'})
  tx:emit('derived', 'b', prom.array({}))
end)");
    ASSERT_TRUE(apply("{}", "first"));
    ASSERT_TRUE(apply("{}", "first", {}, true));  // a redelivery: the same input event
    EXPECT_EQ(body("seen"), R"({"_key":"seen","_ts":1000,"key":"x","n":2,"ts":1000})");
    auto derived = store_->scan({.topic = "derived"});
    ASSERT_TRUE(derived);
    ASSERT_EQ(derived->size(), 2u);  // the redelivery's emits were duplicates
    EXPECT_EQ((*derived)[0].id, "prom-proj:t:0:in:1");
    EXPECT_EQ((*derived)[1].id, "prom-proj:t:1:in:1");
    EXPECT_EQ((*derived)[0].headers.at("trace"), "t");
    EXPECT_EQ((*derived)[0].headers.at("prom-source-id"), "first");
    EXPECT_EQ((*derived)[0].ts, 1000);
    EXPECT_EQ(canonical_json((*derived)[1].payload), "[]");
}

TEST_F(user_projector_lua, where_skips_before_lua_runs_and_bad_arguments_are_errors) {
    define(R"(function handle(event, tx)
  if event.payload.bad == 'emit' then tx:emit('bad topic', 'k', {}) end
  if event.payload.bad == 'alerts' then tx:emit('prom.alerts', 'k', {}) end
  if event.payload.bad == 'arg' then tx:update('out') end
  tx:update('out', 'x', {['$inc'] = {n = 1}})
end)",
           R"({"payload.skip": {"$ne": true}})");
    ASSERT_TRUE(apply(R"({"skip":true})"));
    EXPECT_EQ(body("x"), "");
    ASSERT_TRUE(apply(R"({})"));
    EXPECT_NE(body("x").find("\"n\":1"), std::string::npos);
    EXPECT_NE(error_of(R"({"bad":"emit"})").find("topic"), std::string::npos);
    EXPECT_NE(error_of(R"({"bad":"arg"})").find("bad argument"), std::string::npos);
    // At the call, with the script's line (found from outside: the commit refused it later,
    // without one).
    auto alerts = error_of(R"({"bad":"alerts"})");
    EXPECT_NE(alerts.find("lua:3:"), std::string::npos) << alerts;
    EXPECT_NE(alerts.find("prom.alerts"), std::string::npos) << alerts;
}

// An error object with a __tostring is shown by it, as the lua interpreter shows it; one
// whose __tostring loops is stopped by the budget; a table without one has no message.
TEST_F(user_projector_lua, an_error_object_is_shown_by_its_tostring_under_the_budget) {
    define(R"(function handle(event, tx)
  local k = event.payload.kind
  if k == 'named' then
    error(setmetatable({}, {__tostring = function() return 'order 7 is closed' end}))
  elseif k == 'loop' then
    error(setmetatable({}, {__tostring = function() while true do end end}))
  elseif k == 'plain' then
    error({})
  elseif k == 'boolean' then
    error(true)
  elseif k == 'nothing' then
    error()
  end
end)");
    EXPECT_NE(error_of(R"({"kind":"named"})").find("order 7 is closed"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"loop"})").find("instruction budget"), std::string::npos);
    // Otherwise by its type, as the lua interpreter does.
    EXPECT_NE(error_of(R"({"kind":"plain"})").find("(error object is a table value)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"boolean"})").find("(error object is a boolean value)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"nothing"})").find("(error object is a nil value)"),
              std::string::npos);
    ASSERT_TRUE(apply(R"({"kind":"none"})"));  // the state still works
}

// An erasure marker (payload null, header prom-erased) goes to erased(event, tx) when the
// code has one, and is skipped otherwise: handle() would index a nil payload and every
// erasure would become a dead letter (found from outside).
TEST_F(user_projector_lua, an_erasure_marker_goes_to_erased_or_is_skipped) {
    const headers_map marker{{"prom-erased", "1"}};
    define(R"(function handle(event, tx)
  tx:update('out', event.key, {['$set'] = {v = event.payload.v}})
end)");
    ASSERT_TRUE(apply(R"({"v":1})"));
    ASSERT_TRUE(apply("null", "m1", marker));
    EXPECT_NE(body("k").find(R"("v":1)"), std::string::npos);
    define(R"(function handle(event, tx)
  tx:update('out', event.key, {['$set'] = {v = event.payload.v}})
end
function erased(event, tx)
  tx:delete('out', event.key)
end)",
           R"({"payload.v": {"$gt": 0}})");
    ASSERT_TRUE(apply("null", "m2", marker));
    EXPECT_EQ(body("k"), "");
    // A Lua read goes by logical names: a shadow collection is not read by its own name.
    define(R"(function handle(event, tx) tx:get('_prom.abc.out', 'k') end)");
    EXPECT_NE(error_of(R"({"v":1})").find("reserved"), std::string::npos);
}

// An emitted key with a NUL inside is refused whole (it was cut at the NUL, so "a\0b" and
// "a\0c" both became "a"), and so is an empty header name, as for declarative emits.
TEST_F(user_projector_lua, an_emit_key_with_a_nul_and_an_empty_header_name_are_refused) {
    define(R"(function handle(event, tx)
  if event.payload.kind == 'nul' then tx:emit('o.out', 'a\0b', {}) end
  if event.payload.kind == 'header' then tx:emit('o.out', 'k', {}, {[''] = 'x'}) end
end)");
    EXPECT_NE(error_of(R"({"kind":"nul"})").find("NUL"), std::string::npos);
    EXPECT_NE(error_of(R"({"kind":"header"})").find("non-empty"), std::string::npos);
}

// utf8.len walks its string without running an instruction: a loop over a 25 MB string ran
// 11 times past the time limit (found from outside). It pays for the string now, and the
// metered functions still answer as Lua's (every result of codepoint, len's fail and position).
TEST_F(user_projector_lua, utf8_scans_pay_for_their_string) {
    define(R"(function handle(event, tx)
  if event.payload.kind == 'long' then
    local s, n = string.rep('a', 25000000), 0
    for i = 1, 5000 do n = n + utf8.len(s) end
  end
  local a, b, c = utf8.codepoint('h\u{e9}!', 1, -1)
  local bad, at = utf8.len('a\xffb')
  tx:update('out', 'u', {['$set'] = {a = a, b = b, c = c, bad = tostring(bad), at = at,
                                     off = utf8.offset('h\u{e9}!', 3)}})
end)");
    auto started = std::chrono::steady_clock::now();
    EXPECT_NE(error_of(R"({"kind":"long"})").find("instruction budget"), std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    ASSERT_TRUE(apply(R"({"kind":"short"})"));
    EXPECT_EQ(body("u"),
              R"({"_key":"u","_ts":1000,"a":104,"at":2,"b":233,"bad":"nil","c":33,"off":4})");
}

// The same marker makes a declarative definition do nothing, and $unset of _ts does not
// leave the document to the wall clock.
TEST_F(user_projector_lua, a_declarative_definition_skips_markers_and_keeps_event_time) {
    auto d = parse_projector_definition(
        *parse_json(R"({"name":"d","topic":"in","writes":[{"collection":"out","key":"{key}",)"
                    R"("update":{"$set":{"v":"$payload.v"},"$unset":{"_ts":""}}}]})"));
    ASSERT_TRUE(d) << d.error().message;
    handler_ = make_user_handler(std::make_shared<const projector_definition>(std::move(*d)), {});
    ASSERT_TRUE(apply(R"({"v":7})"));
    EXPECT_NE(body("k").find(R"("_ts":1000)"), std::string::npos) << body("k");
    ASSERT_TRUE(apply("null", "m1", {{"prom-erased", "1"}}));
    EXPECT_NE(body("k").find(R"("v":7)"), std::string::npos);
}

// Found by fuzz/userproj_definition: a loop of string.rep('x', 65536) runs few instructions
// but copies 64 KiB byte by byte in each; at the default budget one event took seconds.
// Allocation now costs budget, so do the elements table.insert shifts, and work that neither
// runs instructions nor allocates (here comparing long strings) stops at the time limit.
TEST_F(user_projector_lua, copying_costs_budget_and_a_time_limit_stops_what_does_not_count) {
    constexpr std::string_view handler = R"(function handle(event, tx)
  if event.payload.kind == 'rep' then
    while true do local s = string.rep('x', 65536) end
  elseif event.payload.kind == 'shift' then
    local t = {}
    for i = 1, 1e9 do table.insert(t, 1, i) end
  elseif event.payload.kind == 'compare' then
    local a, b = string.rep('a', 1 << 23), string.rep('a', 1 << 23)
    while a == b do end
  end
  tx:update('out', 'x', {['$inc'] = {n = 1}})
end)";
    auto started = std::chrono::steady_clock::now();
    // A time limit no loaded machine reaches first: only the budget can stop the copying.
    define(handler, "",
           {.lua_instruction_budget = 1'000'000, .lua_time_limit = std::chrono::seconds(60)});
    EXPECT_NE(error_of(R"({"kind":"rep"})").find("instruction budget"), std::string::npos);
    // table.insert charges each element it shifts (lua_metered_lib.hpp).
    EXPECT_NE(error_of(R"({"kind":"shift"})").find("instruction budget"), std::string::npos);
    define(handler, "",
           {.lua_instruction_budget = 1'000'000, .lua_time_limit = std::chrono::milliseconds(300)});
    // Comparing two 8 MiB strings is one instruction that neither allocates nor counts.
    auto compare_error = error_of(R"({"kind":"compare"})");
    EXPECT_NE(compare_error.find("time limit (300 ms"), std::string::npos) << compare_error;
    // Without the time limit the comparing alone runs for minutes.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
    ASSERT_TRUE(apply("{}"));  // a fresh state after the limits were hit
    EXPECT_NE(body("x").find("\"n\":1"), std::string::npos);
}

TEST_F(user_projector_lua, tx_delete_removes_a_document_and_says_whether_there_was_one) {
    define(R"(function handle(event, tx)
  if event.payload.make then tx:update('out', 'x', {v = 1}) return end
  local existed = tx:delete('out', 'x')
  tx:update('out', 'result', {existed = existed, after = tx:get('out', 'x') ~= nil})
  if event.payload.elsewhere then tx:delete('elsewhere', 'x') end
end)");
    ASSERT_TRUE(apply(R"({"make":true})"));
    ASSERT_NE(body("x"), "");
    ASSERT_TRUE(apply("{}", "e2"));
    EXPECT_EQ(body("x"), "");
    EXPECT_EQ(body("result"), R"({"_key":"result","_ts":1000,"after":false,"existed":true})");
    ASSERT_TRUE(apply("{}", "e3"));
    EXPECT_EQ(body("result"), R"({"_key":"result","_ts":1000,"after":false,"existed":false})");
    EXPECT_NE(error_of(R"({"elsewhere":true})").find("not in the definition"), std::string::npos);
    // The deletion is in the collection's change log.
    auto log = store_->changes({"out", seq_t{0}, 100});
    ASSERT_TRUE(log);
    bool logged = false;
    for (const auto& c : *log) logged = logged || (c.key == "x" && c.deleted);
    EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace prom
