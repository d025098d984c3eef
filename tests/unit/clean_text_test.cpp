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

}  // namespace
}  // namespace prom
