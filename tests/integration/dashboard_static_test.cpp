// The dashboard's files as `prom serve` serves them (docs/dashboard.md): built into the
// binary, strong ETags, 304s, cache lifetimes by name, content types, the redirect from /,
// and no token needed for them while data routes still need one.
#include <regex>
#include <set>

#include "http/ui_assets.hpp"
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class dashboard_static : public server_test {
  protected:
    // The assets the page names (./assets/NAME.HASH.EXT), as absolute targets.
    std::set<std::string> assets_of_page(const std::string& page) {
        std::set<std::string> out;
        std::regex re(R"re("\./(assets/[A-Za-z0-9_.-]+)")re");
        for (auto it = std::sregex_iterator(page.begin(), page.end(), re);
             it != std::sregex_iterator(); ++it) {
            out.insert("/ui/" + (*it)[1].str());
        }
        return out;
    }
};

TEST_F(dashboard_static, root_and_ui_redirect_to_the_page) {
    auto root = get("/");
    EXPECT_EQ(root.status, 302);
    EXPECT_EQ(root.header("Location"), "ui/");
    auto ui = get("/ui");
    EXPECT_EQ(ui.status, 301);
    EXPECT_EQ(ui.header("Location"), "ui/");
    auto page = get("/ui/");
    EXPECT_EQ(page.status, 200);
}

TEST_F(dashboard_static, the_page_is_revalidated_and_names_hashed_assets) {
    auto page = get("/ui/");
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.header("Cache-Control"), "no-cache");
    EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
    auto etag = page.header("ETag");
    ASSERT_TRUE(etag);
    EXPECT_TRUE(std::regex_match(*etag, std::regex(R"("[0-9a-f]{32}")"))) << *etag;  // strong
    auto csp = page.header("Content-Security-Policy");
    ASSERT_TRUE(csp);
    EXPECT_NE(csp->find("default-src 'none'"), std::string::npos) << *csp;
    EXPECT_NE(csp->find("script-src 'self' 'sha256-"), std::string::npos) << *csp;
    EXPECT_NE(page.body.find(R"(<script type="importmap">)"), std::string::npos);
    // Nothing is loaded from another host.
    EXPECT_EQ(page.body.find("src=\"http"), std::string::npos);
    EXPECT_EQ(page.body.find("href=\"http"), std::string::npos);
    EXPECT_EQ(page.body.find("=\"//"), std::string::npos) << "no protocol-relative URL";

    auto again = get("/ui/", {{"If-None-Match", *etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(again.header("ETag"), etag);
    EXPECT_EQ(again.header("Cache-Control"), "no-cache");
    EXPECT_EQ(get("/ui/", {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(dashboard_static, assets_are_immutable_with_strong_etags_and_their_content_types) {
    auto page = get("/ui/");
    ASSERT_EQ(page.status, 200);
    auto assets = assets_of_page(page.body);
    ASSERT_GE(assets.size(), 10u) << page.body;  // the modules, styles and uPlot
    std::size_t js = 0, css = 0, total = page.body.size();
    for (const auto& target : assets) {
        auto a = get(target);
        ASSERT_EQ(a.status, 200) << target;
        total += a.body.size();
        EXPECT_EQ(a.header("Cache-Control"), "public, max-age=31536000, immutable") << target;
        EXPECT_EQ(a.header("Content-Length"), std::to_string(a.body.size())) << target;
        auto etag = a.header("ETag");
        ASSERT_TRUE(etag) << target;
        EXPECT_TRUE(std::regex_match(*etag, std::regex(R"("[0-9a-f]{32}")"))) << *etag;
        // The name carries the first 12 hex digits of the same content hash.
        EXPECT_NE(target.find("." + etag->substr(1, 12) + "."), std::string::npos) << target;
        if (target.ends_with(".js")) {
            ++js;
            EXPECT_EQ(a.header("Content-Type"), "text/javascript; charset=utf-8") << target;
        } else if (target.ends_with(".css")) {
            ++css;
            EXPECT_EQ(a.header("Content-Type"), "text/css; charset=utf-8") << target;
        }
        auto cached = get(target, {{"If-None-Match", *etag}});
        EXPECT_EQ(cached.status, 304) << target;
        EXPECT_TRUE(cached.body.empty()) << target;
        EXPECT_EQ(cached.header("ETag"), etag) << target;
        auto h = head(target);
        EXPECT_EQ(h.status, 200) << target;
        EXPECT_TRUE(h.body.empty()) << target;
        EXPECT_EQ(h.header("Content-Length"), std::to_string(a.body.size())) << target;
    }
    EXPECT_GE(js, 8u);
    EXPECT_EQ(css, 2u);  // ours and uPlot's
    // The first load stays small (issue 15: at most 250 kB transferred).
    EXPECT_LE(total, std::size_t{250} * 1000) << total << " bytes";
    RecordProperty("first_load_bytes", static_cast<int>(total));
}

TEST_F(dashboard_static, every_embedded_file_is_reachable_and_unknown_ones_are_404) {
    for (const auto& f : http::ui_files()) {
        auto a = get(f.path);
        EXPECT_EQ(a.status, 200) << f.path;
        EXPECT_EQ(a.body, f.body) << f.path;
    }
    auto missing = get("/ui/assets/nope.0123456789ab.js");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.header("Content-Type"), "application/json");
    EXPECT_EQ(get("/ui/other").status, 404);
    auto post = http_request(port(), "POST", "/ui/", {{"Content-Type", "text/plain"}}, "x");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");
}

TEST_F(dashboard_static, metrics_count_dashboard_requests_under_their_own_route) {
    ASSERT_EQ(get("/ui/").status, 200);
    auto m = get("/metrics");
    EXPECT_NE(m.body.find(R"(prom_http_requests_total{route="/ui",status="200"} 1)"),
              std::string::npos)
        << m.body;
}

class dashboard_static_with_auth : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        auto p = auth::auth_policy::from_json(
            *parse_json(R"({"tokens":[{"token":"dashboard-token","read":["*"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(dashboard_static_with_auth, files_need_no_token_but_data_does) {
    auto page = get("/ui/");
    EXPECT_EQ(page.status, 200);
    for (const auto& f : http::ui_files()) EXPECT_EQ(get(f.path).status, 200) << f.path;
    put("processes", "p-1", {{"status", "alive"}});
    EXPECT_EQ(get("/list").status, 401);
    EXPECT_EQ(get("/list", {{"Authorization", "Bearer dashboard-token"}}).status, 200);
}

}  // namespace
}  // namespace prom::test
