#include "core/json_precise_parser.hpp"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <string>

namespace prom {

namespace {

namespace bj = boost::json;
using bj::error_code;

// Whether `d` is a whole number whose canonical text (the shortest that reads back as it) is
// an integer's: then every backend that stores text reads it back as that integer, and so
// is it parsed here, so that the memory backend, which keeps parsed values, holds the same
// (found from outside: a Lua handler saw 10000.0 as a float there, an integer elsewhere).
// `100000.0` stays a double: its shortest text is `1e+05`.
bool whole_in_integer_form(double d) {
    constexpr double two_to_63 = 9223372036854775808.0;
    if (!std::isfinite(d) || d != std::trunc(d) || d >= two_to_63 || d < -two_to_63) return false;
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return ec == std::errc() && std::none_of(buf, end, [](char c) { return c == 'e' || c == '.'; });
}

// What Boost.JSON's own parser does with each event (boost/json/detail/handler.hpp), but a
// double is converted again from its text, with std::from_chars, which rounds correctly.
struct building_handler {
    static constexpr std::size_t max_object_size = bj::object::max_size();
    static constexpr std::size_t max_array_size = bj::array::max_size();
    static constexpr std::size_t max_key_size = bj::string::max_size();
    static constexpr std::size_t max_string_size = bj::string::max_size();

    bj::value_stack st;
    std::string number;  // the earlier parts of a number split across writes

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return true; }
    bool on_object_end(std::size_t n, error_code&) {
        st.push_object(n);
        return true;
    }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) {
        st.push_array(n);
        return true;
    }
    bool on_key_part(bj::string_view s, std::size_t, error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_key(bj::string_view s, std::size_t, error_code&) {
        st.push_key(s);
        return true;
    }
    bool on_string_part(bj::string_view s, std::size_t, error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(bj::string_view s, std::size_t, error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(bj::string_view s, error_code&) {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, bj::string_view, error_code&) {
        number.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, bj::string_view, error_code&) {
        number.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, bj::string_view s, error_code&) {
        std::string_view text(s.data(), s.size());
        if (!number.empty()) {
            number.append(s.data(), s.size());
            text = number;
        }
        double exact = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), exact);
        // Out of range: Boost.JSON's infinity (refused later) or zero stands.
        if (ec == std::errc() && end == text.data() + text.size()) d = exact;
        number.clear();
        if (whole_in_integer_form(d)) {
            st.push_int64(static_cast<std::int64_t>(d));
        } else {
            st.push_double(d);
        }
        return true;
    }
    bool on_bool(bool b, error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(bj::string_view, error_code&) { return true; }
    bool on_comment(bj::string_view, error_code&) { return true; }
};

}  // namespace

struct precise_json_parser::impl {
    explicit impl(const bj::parse_options& options) : parser(options) {}
    bj::basic_parser<building_handler> parser;
};

precise_json_parser::precise_json_parser(const bj::parse_options& options)
    : impl_(std::make_unique<impl>(options)) {}

precise_json_parser::~precise_json_parser() = default;

bj::value precise_json_parser::parse(std::string_view text, boost::system::error_code& ec,
                                     std::size_t& error_at) {
    auto& p = impl_->parser;
    p.reset();
    p.handler().st.reset();
    p.handler().number.clear();
    const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && used < text.size()) {
        ec = bj::error::extra_data;
    }
    if (ec) {
        error_at = used;
        p.reset();
        p.handler().st.reset();  // drops what the failed document left on the stack
        return nullptr;
    }
    return p.handler().st.release();
}

}  // namespace prom
