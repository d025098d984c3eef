// A Boost.JSON parser whose numbers with a fraction or an exponent become the double nearest
// to what was written (docs/http-api.md, "Numbers"). Boost.JSON 1.81's own conversion is off
// by a unit in the last place for some of them (found from outside: `98.60000000000001`,
// what JavaScript computes for 37 * 1.8 + 32, was stored as `98.6`, and `9007199254740991.0`
// as 9007199254740990), so a stored number could differ from the one published and a schema's
// `enum` or `const` from the one written. Integers are Boost.JSON's, which are exact; a whole
// number whose shortest text is an integer's (`10000.0`) is parsed as that integer, as the
// backends that store text read it back.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string_view>

namespace prom {

class precise_json_parser {
  public:
    explicit precise_json_parser(const boost::json::parse_options& options);
    ~precise_json_parser();
    precise_json_parser(const precise_json_parser&) = delete;
    precise_json_parser& operator=(const precise_json_parser&) = delete;

    // Parses one whole document; `ec` says why not (nothing is kept then), and `error_at`
    // how many bytes were read before it.
    boost::json::value parse(std::string_view text, boost::system::error_code& ec,
                             std::size_t& error_at);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace prom
