// Keys, ids, headers and documents must be valid UTF-8 without NUL on every backend.
#include <gtest/gtest.h>

#include "core/text.hpp"

namespace prom {
namespace {

using namespace std::string_literals;

TEST(clean_text, accepts_utf8_and_refuses_nul_and_broken_sequences) {
    EXPECT_TRUE(is_clean_text(""));
    EXPECT_TRUE(is_clean_text("plain ascii"));
    EXPECT_TRUE(is_clean_text("é ü 漢字 😀"));
    EXPECT_FALSE(is_clean_text("a\0b"s));
    EXPECT_FALSE(is_clean_text("\xC3"));              // cut short
    EXPECT_FALSE(is_clean_text("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(is_clean_text("\xED\xA0\x80"));      // a surrogate
    EXPECT_FALSE(is_clean_text("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_clean_text("\xFF"));
}

TEST(clean_text, first_invalid_utf8_is_where_the_first_broken_sequence_starts) {
    EXPECT_EQ(first_invalid_utf8(""), std::nullopt);
    EXPECT_EQ(first_invalid_utf8("é ü 漢字 😀"), std::nullopt);
    EXPECT_EQ(first_invalid_utf8("a\0b"s), std::nullopt);  // NUL is valid UTF-8, not clean text
    EXPECT_EQ(first_invalid_utf8("ab\xC3"), 2u);           // cut short
    EXPECT_EQ(first_invalid_utf8("é\xC0\xAF"), 2u);        // overlong '/', after a 2-byte é
    EXPECT_EQ(first_invalid_utf8("😀\xED\xA0\x80"), 4u);    // a surrogate
    EXPECT_EQ(first_invalid_utf8("x\xF4\x90\x80\x80y\xFF"), 1u);
}

TEST(clean_text, valid_utf8_replaces_each_stray_byte_and_keeps_the_rest) {
    EXPECT_EQ(valid_utf8("é ü 漢字 😀"), "é ü 漢字 😀");
    EXPECT_EQ(valid_utf8("a\xFF"
                         "b"),
              "a\uFFFD"
              "b");
    EXPECT_EQ(valid_utf8("\xC3"), "\uFFFD");                        // cut short
    EXPECT_EQ(valid_utf8("\xC0\xAF"), "\uFFFD\uFFFD");              // overlong '/'
    EXPECT_EQ(valid_utf8("\xED\xA0\x80!"), "\uFFFD\uFFFD\uFFFD!");  // a surrogate
    EXPECT_EQ(valid_utf8("x\xE6\xBCy"), "x\uFFFD\uFFFDy");          // a truncated 3-byte form
    EXPECT_EQ(valid_utf8("a\0b"s), "a\0b"s);                        // NUL is valid UTF-8
    for (const std::string& s : {"\xFF"s, "\xC3("s, "\xF4\x90\x80\x80"s, "\xE0\x80"s}) {
        EXPECT_TRUE(is_clean_text(valid_utf8(s))) << s;
    }
}

TEST(clean_text, printable_message_is_clean_text_and_bounded) {
    EXPECT_EQ(printable_message("plain"), "plain");
    EXPECT_EQ(printable_message("h\xC3|"), "h\uFFFD|");  // a character cut in half
    EXPECT_EQ(printable_message("a\0b"s), "a\uFFFDb");   // NUL: not text for a header
    const std::string huge(100000, 'y');
    auto m = printable_message(huge, 100);
    EXPECT_TRUE(m.starts_with(std::string(100, 'y'))) << m;
    EXPECT_TRUE(m.ends_with("(100000 bytes)")) << m;
    EXPECT_LT(m.size(), 130u);
    // Cut at a character boundary: never half of "é".
    auto cut = printable_message(std::string(99, 'x') + "\u00e9\u00e9", 100);
    EXPECT_TRUE(is_clean_text(cut)) << cut;
    EXPECT_TRUE(is_clean_text(printable_message("\xFF\xC3(\xF4\x90\x80\x80"s)));
}

// A log line quotes event ids and Lua errors: found from outside, an id with a newline wrote
// a forged line into the server's log.
TEST(clean_text, log_line_keeps_a_message_on_one_line) {
    EXPECT_EQ(log_line("event a\n[2026-12-06] [prom] [error] auth off"),
              "event a\\n[2026-12-06] [prom] [error] auth off");
    EXPECT_EQ(log_line("\x1b[31mred\r\t\x7f"), "\\x1b[31mred\\r\\t\\x7f");
    EXPECT_EQ(log_line("caf\xC3\xA9 \xFF ok"), "caf\xC3\xA9 \xEF\xBF\xBD ok");
    EXPECT_EQ(log_line(std::string("a\0b", 3)), "a\\x00b");
}

}  // namespace
}  // namespace prom
