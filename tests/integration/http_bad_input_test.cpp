// Malformed and hostile requests (docs/http-api.md, "Errors"): a clear error, nothing changed,
// still serving.
#include <thread>

#include "core/text.hpp"
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class http_bad_input : public server_test {
  protected:
    void SetUp() override {
        server_test::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;  // no server to fill
        doc_ = put("processes", "k", {{"status", "alive"}, {"_ts", 1000}});
        ASSERT_EQ(post_json("/publish", R"({"topic":"t","payload":1})").status, 200);
    }

    // The data is as SetUp left it and the server still answers.
    void expect_unchanged_and_serving() {
        auto docs = all("processes");
        ASSERT_EQ(docs.size(), 1u);
        EXPECT_EQ(docs[0].body, doc_.body);
        auto t = db().topic("t");
        ASSERT_TRUE(t && *t);
        EXPECT_EQ((*t)->count, 1);
        auto topics = db().topics();
        ASSERT_TRUE(topics);
        EXPECT_EQ(topics->size(), 1u);
        auto r = get("/snap/k");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, doc_.body);
    }

    // Sends raw bytes on a fresh connection and reads the one reply.
    http_reply raw(std::string_view bytes) {
        http_connection c(port());
        EXPECT_TRUE(c.send_raw(bytes));
        auto r = c.read_reply();
        return r ? *r : http_reply{};
    }

    document doc_;
};

TEST_F(http_bad_input, content_length_with_transfer_encoding_is_refused) {
    const std::string body = R"({"topic":"t","payload":2})";
    auto r =
        raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(r.header("Connection"), "close");
    auto r2 =
        raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(r2.status, 400);
    auto r3 =
        raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 5\r\nContent-Length: 6\r\n\r\n{\"a\":1}");
    EXPECT_EQ(r3.status, 400);
    expect_unchanged_and_serving();
}

// `OPTIONS *` is about the server as a whole (RFC 9110 §9.3.7): its methods, no content. The
// asterisk is a request target for OPTIONS only.
TEST_F(http_bad_input, options_asterisk_answers_the_servers_methods_and_other_verbs_do_not) {
    auto r = raw("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST, PUT, DELETE");
    EXPECT_EQ(r.header("Content-Length"), "0");
    EXPECT_EQ(r.body, "");
    for (const char* verb : {"GET", "POST", "DELETE"}) {
        auto bad = raw(std::string(verb) + " * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_EQ(bad.status, 400) << verb;
        EXPECT_EQ(bad.header("Content-Type"), "application/json") << verb;
    }
    // On a route, OPTIONS is a method the route does not take, as before.
    auto route = raw("OPTIONS /publish HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(route.status, 405);
    EXPECT_EQ(route.header("Allow"), "POST");
    expect_unchanged_and_serving();
}

// A Transfer-Encoding that does not end in chunked leaves the body's length unknown: its
// bytes must not be read as a next request (found from outside: a smuggled publish ran).
TEST_F(http_bad_input, a_transfer_encoding_not_ending_in_chunked_is_refused_and_closed) {
    const std::string inner = R"({"topic":"smuggled","payload":1})";
    const std::string smuggled =
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(inner.size()) + "\r\n\r\n" + inner;
    for (const auto& [coding, status] :
         std::vector<std::pair<std::string, int>>{{"gzip", 400},
                                                  {"xchunked", 400},
                                                  {"chunked, identity", 400},
                                                  {"identity", 400},
                                                  {"gzip, chunked", 501}}) {
        http_connection c(port());
        std::string request =
            "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: ";
        request += coding;
        request += "\r\n\r\n";
        request += smuggled;
        ASSERT_TRUE(c.send_raw(request));
        auto r = c.read_reply();
        ASSERT_TRUE(r) << coding;
        EXPECT_EQ(r->status, status) << coding;
        EXPECT_EQ(r->header("Connection"), "close") << coding;
        EXPECT_FALSE(c.read_reply()) << coding << ": a second answer, to the smuggled request";
    }
    // With a Content-Length as well, and on HTTP/1.0 (which has no transfer codings).
    EXPECT_EQ(raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: identity\r\nContent-Length: " +
                  std::to_string(inner.size()) + "\r\n\r\n" + inner)
                  .status,
              400);
    EXPECT_EQ(raw("POST /publish HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                  .status,
              400);
    expect_unchanged_and_serving();
}

// Lines ended by a bare LF, in a chunked body's size lines or in the header, are a malformed
// request answered at once (found from outside: no answer until the 15 s read timeout).
TEST_F(http_bad_input, lines_ended_by_a_bare_lf_are_400_at_once) {
    const auto started = std::chrono::steady_clock::now();
    auto chunked =
        raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n19\n{\"topic\":\"t\",\"payload\":9}\n0\n\n");
    EXPECT_EQ(chunked.status, 400) << chunked.body;
    auto header = raw("GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n");
    EXPECT_EQ(header.status, 400) << header.body;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    expect_unchanged_and_serving();
}

// A version prom does not speak is 505, not a malformed request (found from outside: 400).
TEST_F(http_bad_input, another_http_version_is_505) {
    for (const char* version : {"HTTP/9.9", "HTTP/2.0", "HTTP/1.2"}) {
        auto r = raw(std::string("GET /snap/k ") + version + "\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_EQ(r.status, 505) << version;
        auto body = parse_json(r.body);
        ASSERT_TRUE(body) << version;
        EXPECT_EQ(body->at("error"), "version_not_supported") << version;
    }
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, malformed_request_lines_and_headers_are_400) {
    for (const std::string& bytes :
         {std::string("GARBAGE\r\n\r\n"), std::string("GET /snap/k\r\n\r\n"),
          std::string("GET /snap/k HTTP/1.1\r\nBad Header\r\n\r\n"),
          std::string("GET /snap/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n"),
          std::string("GET ftp://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
          std::string("GET http://u@127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
          std::string("GET /snap/k\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")}) {
        auto r = raw(bytes);
        EXPECT_EQ(r.status, 400) << bytes;
        auto body = parse_json(r.body);
        ASSERT_TRUE(body) << bytes;
        EXPECT_TRUE(body->at("error").is_string());
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
    }
    expect_unchanged_and_serving();
}

// RFC 9112 3.2.2: a server must accept an absolute-form target (a client that talks to it as
// to a proxy); its authority stands for Host, so a server without tokens answers only one
// that names loopback. Found from outside (it was 400).
TEST_F(http_bad_input, an_absolute_form_target_is_served_as_its_origin_form) {
    auto health = raw("GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(health.status, 200) << health.body;
    auto upper = raw("GET HTTP://localhost:1/healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(upper.status, 200) << upper.body;
    auto root = raw("GET http://127.0.0.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(root.status, raw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status);
    auto elsewhere = raw("GET http://evil.example/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(elsewhere.status, 403) << elsewhere.body;
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, oversize_headers_are_431) {
    auto r = raw("GET /snap/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                 std::string(std::size_t{64} * 1024, 'a') + "\r\n\r\n");
    EXPECT_EQ(r.status, 431);
    auto long_target = raw("GET /snap/" + std::string(std::size_t{64} * 1024, 'k') +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(long_target.status, 431);
    // At the limit (16384 bytes: the request line, the field lines with their CRLFs, the
    // blank line) exactly, whether the bytes come in one piece or as many small headers
    // (found from outside: 16,424 and 16,890 bytes passed when sent in one segment).
    auto sized = [](std::size_t total, bool small_fields) {
        std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        std::string fields;
        if (small_fields) {
            const std::size_t room = total - head.size() - 2;  // for the field lines
            while (fields.size() + 5 + 6 <= room) fields += "a: \r\n";
            fields += "b: " + std::string(room - fields.size() - 5, 'x') + "\r\n";
        } else {
            const std::string name = "X-Pad: ";
            fields = name + std::string(total - head.size() - name.size() - 2 - 2, 'a') + "\r\n";
        }
        return head + fields + "\r\n";
    };
    for (bool small_fields : {false, true}) {
        auto at = sized(16384, small_fields), over = sized(16385, small_fields);
        ASSERT_EQ(at.size(), 16384u);
        EXPECT_EQ(raw(at).status, 200) << small_fields;
        EXPECT_EQ(raw(over).status, 431) << small_fields;
    }
    expect_unchanged_and_serving();
}

// Beast keeps a field's length in 16 bits: a field of 64 KiB or more, in a trailer under
// the default limit or in the header under a larger one, is a 431 answer, not a connection
// closed without a word (found from outside).
TEST_F(http_bad_input, a_trailer_field_of_64_kib_is_431) {
    auto r = raw(
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n19\r\n{\"topic\":\"t\",\"payload\":9}\r\n0\r\nX-T: " +
        std::string(std::size_t{64} * 1024, 'a') + "\r\n\r\n");
    EXPECT_EQ(r.status, 431) << r.body;
    expect_unchanged_and_serving();
}

class http_large_header_limit : public http_bad_input {
  protected:
    server::serve_config make_config() override {
        auto c = http_bad_input::make_config();
        c.header_limit = std::size_t{1024} * 1024;
        return c;
    }
};

TEST_F(http_large_header_limit, a_field_of_64_kib_or_more_is_431_and_a_smaller_one_passes) {
    auto field = [this](std::size_t n) {
        return raw("GET /snap/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(n, 'a') +
                   "\r\n\r\n");
    };
    EXPECT_EQ(field(60000).status, 200);
    auto big = field(std::size_t{64} * 1024);
    EXPECT_EQ(big.status, 431) << big.body;
    EXPECT_EQ(big.header("Content-Type"), "application/json");
    EXPECT_EQ(field(std::size_t{1024} * 1024 + 1).status, 431);
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, a_chunked_publish_within_the_limit_is_accepted) {
    const std::string body = R"({"topic":"t2","payload":2})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    auto r =
        raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" +
            std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 200) << r.body;
}

// A longer read timeout than the fixture's, so that "served before the trickler is cut"
// holds with room to spare on a loaded machine.
class http_slow_client : public http_bad_input {
  protected:
    server::serve_config make_config() override {
        auto c = http_bad_input::make_config();
        c.read_timeout = std::chrono::milliseconds(3000);
        return c;
    }
};

TEST_F(http_slow_client, a_client_sending_one_byte_at_a_time_blocks_nobody_and_is_cut) {
    http_connection slow(port());
    ASSERT_TRUE(slow.connected());
    std::atomic<bool> cut{false};
    std::thread trickler([&] {
        const std::string bytes =
            "GET /snap/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'a');
        for (char ch : bytes) {
            if (cut.load() || !slow.send_raw(std::string_view(&ch, 1))) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        auto r = get("/snap/k");
        EXPECT_EQ(r.status, 200);
    }
    // Everyone else was served while the trickler still held its connection.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2500));
    EXPECT_TRUE(slow.closed_by_peer(std::chrono::seconds(8)));  // cut at the read timeout
    cut = true;
    trickler.join();
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, http_1_0_is_answered_and_closed_unless_kept_alive) {
    http_connection c(port());
    ASSERT_TRUE(c.send_raw("GET /snap/k HTTP/1.0\r\n\r\n"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(2)));
    http_connection k(port());
    ASSERT_TRUE(k.send_raw("GET /snap/k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r1 = k.read_reply();
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->header("Connection"), "keep-alive");
    ASSERT_TRUE(k.send_raw("GET /snap/k HTTP/1.0\r\n\r\n"));
    auto r2 = k.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->status, 200);
}

// Error messages quote decoded client input; the body must still be valid UTF-8 JSON
// (issue 12 item 15).
TEST_F(http_bad_input, error_messages_are_valid_utf8_whatever_bytes_the_target_decodes_to) {
    for (std::string_view target :
         {"/at/t/%FF?t=1", "/at/%FF/k?t=1", "/at/t/k?t=%FF", "/at/t/k?t=1&reducer=%FF",
          "/at/t/k?t=1&%FF=1", "/at/t/k?t=%C3%28", "/list?%FF=1", "/list?limit=%FF",
          "/list?limit=1&limit=%FF", "/collections/%FF/list", "/collections/%FF/snap/k",
          "/snap/%FF", "/collections/%ED%A0%80/list"}) {
        auto r = get(target);
        EXPECT_GE(r.status, 400) << target;
        EXPECT_LT(r.status, 500) << target;
        EXPECT_TRUE(is_clean_text(r.body)) << target << ": " << r.body;
        auto v = parse_json(r.body);
        ASSERT_TRUE(v && v->is_object()) << target << ": " << r.body;
        EXPECT_TRUE(v->as_object().contains("error")) << target;
        EXPECT_TRUE(v->as_object().contains("message")) << target;
    }
    // The replacement character shows where the bad byte was.
    auto r = get("/at/t/k?t=%FF");
    EXPECT_NE(r.body.find("\xEF\xBF\xBD"), std::string::npos) << r.body;
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, many_idle_connections_do_not_stop_new_ones) {
    std::vector<std::unique_ptr<http_connection>> idle;
    idle.reserve(200);
    for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<http_connection>(port()));
    for (int i = 0; i < 10; ++i) EXPECT_EQ(get("/snap/k").status, 200);
    expect_unchanged_and_serving();
}

TEST_F(http_bad_input, a_client_that_vanishes_mid_request_does_no_harm) {
    {
        http_connection c(port());
        c.send_raw(
            "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{\"topic\":\"t\",");
    }
    {
        http_connection c(port());
        c.send_raw("GET /snap/k HTTP/1.1\r\nHo");
    }
    expect_unchanged_and_serving();
}

}  // namespace
}  // namespace prom::test
