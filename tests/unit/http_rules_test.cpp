// The pure rules behind the HTTP API: dates, conditional requests, /list queries, decoding.
#include <gtest/gtest.h>

#include <limits>

#include "http/conditional.hpp"
#include "http/http_date.hpp"
#include "http/list_query.hpp"
#include "http/percent.hpp"
#include "http/response.hpp"
#include "http/snapshot_cache.hpp"
#include "http/transfer_coding.hpp"

namespace prom::http {
namespace {

TEST(http_date, formats_imf_fixdate) {
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

// A document's `_ts` can be any integer; the header never carries broken text for it.
TEST(http_date, a_time_past_9999_or_before_1970_is_written_as_the_nearest_it_can_hold) {
    EXPECT_EQ(format_http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(format_http_date(253402300800), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(format_http_date(9223372036854775), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(format_http_date(-1), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(status_line, every_status_the_server_answers_has_its_reason_phrase) {
    for (unsigned status : {200u, 201u, 202u, 204u, 304u, 400u, 401u, 403u, 404u, 405u,
                            409u, 410u, 413u, 415u, 422u, 426u, 431u, 500u, 501u, 503u}) {
        EXPECT_NE(reason_of(status), "Unknown") << status;
    }
    EXPECT_EQ(reason_of(202), "Accepted");
}

TEST(http_date, parses_the_three_formats_of_rfc_9110) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    for (auto bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 25:49:37 GMT",
                     "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                     "Sun, 06 Nov 1994 08:49:37 GMT trailing", "1700000000",
                     // Days the month does not have (found from outside: 31 Feb was 2 Mar).
                     "Thu, 31 Feb 2000 00:00:00 GMT", "Tue, 29 Feb 2100 00:00:00 GMT",
                     "Thu, 31 Apr 2026 00:00:00 GMT", "Thursday, 31-Jun-99 00:00:00 GMT",
                     "Sun Feb 30 08:49:37 1994"}) {
        EXPECT_FALSE(parse_http_date(bad)) << bad;
    }
    EXPECT_TRUE(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"));  // a leap year
    EXPECT_TRUE(parse_http_date("Thu, 31 Dec 2026 00:00:00 GMT"));
}

TEST(if_none_match, compares_weakly_over_a_list) {
    const std::string etag = "\"abc\"";
    EXPECT_TRUE(if_none_match_matches("\"abc\"", etag));
    EXPECT_TRUE(if_none_match_matches("W/\"abc\"", etag));
    EXPECT_TRUE(if_none_match_matches("\"x\", W/\"abc\"", etag));
    EXPECT_TRUE(if_none_match_matches("\"x\",\"abc\"", etag));
    EXPECT_TRUE(if_none_match_matches("*", etag));
    EXPECT_TRUE(if_none_match_matches(" * ", etag));
    EXPECT_FALSE(if_none_match_matches("\"abcd\"", etag));
    EXPECT_FALSE(if_none_match_matches("abc", etag));
    EXPECT_FALSE(if_none_match_matches("\"ab", etag));
    EXPECT_FALSE(if_none_match_matches("", etag));
    EXPECT_FALSE(if_none_match_matches("w/\"abc\"", etag));  // the prefix is case-sensitive
    // A malformed member breaks the whole header: never a 304 (found from outside).
    for (const char* broken :
         {"*garbage", "**", "\"abc\" garbage", "\"abc\";q=1", "\"abc\", garbage",
          "garbage, \"abc\"", "\"abc\", \"x", "\"a b\", \"abc\"", "\"a\tb\", \"abc\""}) {
        EXPECT_FALSE(if_none_match_matches(broken, etag)) << broken;
    }
    EXPECT_TRUE(if_none_match_matches("\"x\" , \"abc\" ,", etag));
}

TEST(conditional, if_none_match_decides_alone_when_present) {
    const std::string etag = "\"abc\"";
    std::string later = format_http_date(2000), earlier = format_http_date(500);
    EXPECT_FALSE(not_modified({"\"x\"", later}, etag, 1000));
    EXPECT_TRUE(not_modified({"\"abc\"", earlier}, etag, 1000));
    EXPECT_TRUE(not_modified({std::nullopt, later}, etag, 1000));
    EXPECT_TRUE(not_modified({std::nullopt, format_http_date(1000)}, etag, 1000));
    EXPECT_FALSE(not_modified({std::nullopt, earlier}, etag, 1000));
    EXPECT_FALSE(not_modified({std::nullopt, "garbage"}, etag, 1000));
    EXPECT_FALSE(not_modified({}, etag, 1000));
}

// If-Match compares strongly and decides alone; If-Unmodified-Since otherwise; a broken
// If-Match never lets a write through (found from outside: both headers were ignored).
TEST(conditional, preconditions_hold_as_rfc_9110_says) {
    const std::string etag = "\"abc\"";
    const std::string later = format_http_date(2000), earlier = format_http_date(500);
    EXPECT_TRUE(preconditions_hold({}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({"\"abc\""}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({"\"x\", \"abc\""}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({"*"}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({"\"x\""}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({"W/\"abc\""}, etag, 1000));  // strong comparison
    EXPECT_FALSE(preconditions_hold({"\"abc\";q=1"}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({"\"abc\"", later}, std::nullopt, 1000));  // no tag
    EXPECT_TRUE(preconditions_hold({"*"}, std::nullopt, std::nullopt));
    // If-Match decides alone, whatever the date says.
    EXPECT_TRUE(preconditions_hold({"\"abc\"", earlier}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({std::nullopt, later}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({std::nullopt, format_http_date(1000)}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({std::nullopt, earlier}, etag, 1000));
    // Ignored: an invalid date, two dates, or a resource without one.
    EXPECT_TRUE(preconditions_hold({std::nullopt, "garbage"}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({std::nullopt, earlier + ", " + later}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({std::nullopt, earlier}, etag, std::nullopt));
}

// On a write, an If-None-Match that matches is a failed precondition (RFC 9110 13.1.2; found
// from outside: a DELETE ignored it): `*`, or the tag under the weak comparison.
TEST(conditional, a_writes_matching_if_none_match_does_not_hold) {
    const std::string etag = "\"abc\"";
    EXPECT_FALSE(preconditions_hold({std::nullopt, std::nullopt, "*"}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({std::nullopt, std::nullopt, "\"abc\""}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({std::nullopt, std::nullopt, "W/\"abc\""}, etag, 1000));
    EXPECT_TRUE(preconditions_hold({std::nullopt, std::nullopt, "\"x\""}, etag, 1000));
    EXPECT_FALSE(preconditions_hold({"\"abc\"", std::nullopt, "*"}, etag, 1000));  // both count
    EXPECT_FALSE(preconditions_hold({std::nullopt, std::nullopt, "*"}, std::nullopt, std::nullopt));
    EXPECT_TRUE(preconditions_hold({std::nullopt, std::nullopt, "\"abc\""}, std::nullopt, 1000));
}

// A body whose length cannot be told for sure is refused (found from outside: its bytes were
// read as a next, smuggled request).
TEST(transfer_coding, only_a_final_chunked_on_http_1_1_is_taken) {
    EXPECT_FALSE(refuse_transfer_coding(11, std::nullopt));
    EXPECT_FALSE(refuse_transfer_coding(11, "chunked"));
    EXPECT_FALSE(refuse_transfer_coding(11, " Chunked "));
    // Chunked twice is malformed, not an unknown coding (found from outside: 501).
    for (std::string_view bad : {"gzip", "xchunked", "chunked, identity", "identity", "", ",",
                                 "chunked, chunked", "chunked, gzip, CHUNKED"}) {
        auto r = refuse_transfer_coding(11, bad);
        ASSERT_TRUE(r) << bad;
        EXPECT_EQ(r->status, 400u) << bad;
    }
    auto gzip = refuse_transfer_coding(11, "gzip, chunked");
    ASSERT_TRUE(gzip);
    EXPECT_EQ(gzip->status, 501u);
    EXPECT_EQ(gzip->code, "not_implemented");
    auto old = refuse_transfer_coding(10, "chunked");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, 400u);
}

TEST(list_query, reads_paging_and_filters) {
    find_query q;
    ASSERT_TRUE(parse_list_query("offset=5&limit=20&status=alive&name=a%20b+c", q));
    EXPECT_EQ(q.offset, 5u);
    EXPECT_EQ(q.limit, 20u);
    ASSERT_EQ(q.equals.size(), 2u);
    EXPECT_EQ(q.equals[0], (std::pair<std::string, std::string>{"status", "alive"}));
    EXPECT_EQ(q.equals[1], (std::pair<std::string, std::string>{"name", "a b c"}));
    ASSERT_TRUE(parse_list_query("", q));
    EXPECT_EQ(q.offset, 0u);
    EXPECT_EQ(q.limit, 100u);
    EXPECT_TRUE(q.equals.empty());
    ASSERT_TRUE(parse_list_query("limit=1000&offset=0&", q));
    EXPECT_EQ(q.limit, 1000u);
}

TEST(list_query, rejects_anything_but_plain_integers_and_plain_names) {
    for (auto bad : {"limit=NaN",
                     "limit=-1",
                     "limit=0",
                     "limit=1.5",
                     "limit=1e3",
                     "limit=1001",
                     "limit=",
                     "limit=+1",
                     "limit=%2B1",
                     "limit=0x1",
                     "limit=99999999999999999999",
                     "offset=-1",
                     "offset=1.5",
                     "offset=",
                     "offset=1e2",
                     "offset=9999999999999",
                     "limit=1&limit=2",
                     "host=h1&host=h2",
                     "host=h1&status=a&host=h1",
                     "status[$ne]=x",
                     "status%5B%24ne%5D=x",
                     "$where=1",
                     "a.b=1",
                     "status",
                     "=x",
                     "%00=x"}) {
        find_query q;
        auto r = parse_list_query(bad, q);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
    }
}

TEST(percent, decodes_once) {
    EXPECT_EQ(decode_path_segment("a%2Fb"), "a/b");
    EXPECT_EQ(decode_path_segment("%2541"), "%41");
    EXPECT_EQ(decode_path_segment("a+b"), "a+b");
    EXPECT_EQ(decode_query_component("a+b%2B"), "a b+");
}

TEST(render_document, builds_the_200_and_304_header_blocks_once) {
    document d{"processes", "k", ts_ms{1'700'000'000'500}, R"({"_key":"k"})", "\"e\""};
    auto r = render_document(d, 7);
    EXPECT_EQ(
        r->head_200,
        "Content-Type: application/json\r\nContent-Length: 12\r\nETag: \"e\"\r\n"
        "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nCache-Control: public, max-age=7\r\n");
    EXPECT_EQ(r->head_304,
              "ETag: \"e\"\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
              "Cache-Control: public, max-age=7\r\n");
    EXPECT_EQ(r->modified_seconds, 1'700'000'000);
    // A _ts before 1970 is written as 1970, the most negative one too (it wrapped to 9999).
    for (std::int64_t ts : {std::int64_t{-1}, std::int64_t{-62'135'596'800'001},
                            std::numeric_limits<std::int64_t>::min()}) {
        d.ts = ts_ms{ts};
        EXPECT_NE(render_document(d, 7)->head_304.find("Thu, 01 Jan 1970 00:00:00 GMT"),
                  std::string::npos)
            << ts;
    }
    d.ts = ts_ms{-1500};
    EXPECT_EQ(render_document(d, 7)->modified_seconds, -2);
}

}  // namespace
}  // namespace prom::http
