// GET /list and /collections/{name}/list: paging, order, literal equality filters.
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class list_api : public server_test {
  protected:
    void SetUp() override {
        server_test::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;  // no server to fill
        // _ts: a=300, b=200, c=200, d=100 → order a, b, c (tie by _key), d.
        put("processes", "c", {{"status", "alive"}, {"pid", 3}, {"ok", true}, {"_ts", 200}});
        put("processes", "a", {{"status", "alive"}, {"pid", 1}, {"ok", false}, {"_ts", 300}});
        put("processes", "d", {{"status", "stale"}, {"pid", 4}, {"ok", true}, {"_ts", 100}});
        put("processes", "b", {{"status", "stale"}, {"pid", 2}, {"_ts", 200}});
        put("host_stats", "h", {{"seen", 1}, {"_ts", 5}});
    }

    // The keys of a /list answer, after checking its shape.
    std::vector<std::string> keys(std::string_view target) {
        auto r = get(target);
        EXPECT_EQ(r.status, 200) << target << " " << r.body;
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
        auto v = parse_json(r.body);
        std::vector<std::string> out;
        if (!v || !v->is_object()) return out;
        const auto& items = v->at("items").as_array();
        EXPECT_EQ(v->at("count").to_number<std::int64_t>(),
                  static_cast<std::int64_t>(items.size()));
        for (const auto& d : items) out.emplace_back(d.at("_key").as_string());
        return out;
    }
};

using keys_t = std::vector<std::string>;

TEST_F(list_api, lists_newest_ts_first_with_ties_by_key) {
    EXPECT_EQ(keys("/list"), (keys_t{"a", "b", "c", "d"}));
    auto r = get("/list");
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("offset"), 0);
    EXPECT_EQ(v->at("limit"), 100);
    EXPECT_EQ(v->at("count"), 4);
    // Items are the stored documents, byte for byte.
    EXPECT_EQ(canonical_json(v->at("items").at(0)), all("processes").at(0).body);
}

TEST_F(list_api, pages_with_offset_and_limit) {
    EXPECT_EQ(keys("/list?limit=2"), (keys_t{"a", "b"}));
    EXPECT_EQ(keys("/list?limit=2&offset=2"), (keys_t{"c", "d"}));
    EXPECT_EQ(keys("/list?offset=3"), (keys_t{"d"}));
    EXPECT_EQ(keys("/list?offset=10"), keys_t{});
    EXPECT_EQ(keys("/list?limit=1000&offset=0"), (keys_t{"a", "b", "c", "d"}));
    auto v = parse_json(get("/list?limit=2&offset=1").body);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("offset"), 1);
    EXPECT_EQ(v->at("limit"), 2);
    EXPECT_EQ(v->at("count"), 2);
}

TEST_F(list_api, filters_by_literal_equality_of_top_level_fields) {
    EXPECT_EQ(keys("/list?status=stale"), (keys_t{"b", "d"}));
    EXPECT_EQ(keys("/list?status=alive&limit=1"), (keys_t{"a"}));
    EXPECT_EQ(keys("/list?pid=3"), (keys_t{"c"}));         // a number matches its JSON text
    EXPECT_EQ(keys("/list?ok=true"), (keys_t{"c", "d"}));  // a boolean too
    EXPECT_EQ(keys("/list?status=stale&pid=4"), (keys_t{"d"}));
    EXPECT_EQ(keys("/list?status=%22stale%22"), keys_t{});  // literal: quotes are characters
    EXPECT_EQ(keys("/list?nosuchfield=1"), keys_t{});
    EXPECT_EQ(keys("/list?__proto__=x"), keys_t{});
    EXPECT_EQ(keys("/list?_key=b"), (keys_t{"b"}));
    EXPECT_EQ(keys("/collections/host_stats/list"), (keys_t{"h"}));
    // A name nothing writes and nothing holds is a typo: 404, not an empty page.
    auto unknown = get("/collections/nothing_here/list");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(unknown.body.find("unknown collection 'nothing_here'"), std::string::npos)
        << unknown.body;
}

TEST_F(list_api, rejects_every_malformed_parameter_with_400) {
    const char* bad[] = {
        "/list?limit=NaN",
        "/list?limit=-1",
        "/list?limit=0",
        "/list?limit=1.5",
        "/list?limit=1e3",
        "/list?limit=1001",
        "/list?limit=99999999999999999999999",
        "/list?limit=",
        "/list?limit=+5",
        "/list?limit=%205",
        "/list?limit=0x10",
        "/list?limit=Infinity",
        "/list?offset=-1",
        "/list?offset=1.5",
        "/list?offset=NaN",
        "/list?offset=99999999999999999999999",
        "/list?offset=",
        "/list?limit=5&limit=6",
        "/list?status[$ne]=x",
        "/list?status%5B%24ne%5D=x",
        "/list?$where=1",
        "/list?a.b=1",
        "/list?status",
        "/list?st-atus=x",
        "/list?%00=x",
        "/collections/processes/list?limit=NaN",
    };
    auto before = all("processes");
    for (const char* t : bad) {
        auto r = get(t);
        EXPECT_EQ(r.status, 400) << t;
        EXPECT_EQ(r.header("Cache-Control"), "no-store") << t;
        auto body = parse_json(r.body);
        ASSERT_TRUE(body) << t;
        EXPECT_EQ(body->at("error"), "bad_request") << t;
        EXPECT_TRUE(body->at("message").is_string()) << t;
    }
    auto after = all("processes");
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].body, before[i].body);
}

TEST_F(list_api, head_has_the_same_headers_as_get) {
    auto g = get("/list?limit=2");
    auto h = head("/list?limit=2");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.header("Content-Length"), g.header("Content-Length"));
    EXPECT_EQ(h.header("Cache-Control"), "no-store");
    EXPECT_TRUE(h.body.empty());
}

}  // namespace
}  // namespace prom::test
