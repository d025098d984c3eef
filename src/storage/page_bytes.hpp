// The byte bound of one page of scan, find or changes (store.hpp, default_max_page_bytes), as
// every backend applies it while it reads a page's rows: the first row always fits; once the
// rows read pass the bound, the read fails with errc::too_large before it holds more.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "prom/error.hpp"

namespace prom::storage {

class page_bytes {
  public:
    // `rows` and `of`, for the message: "events of topic", "orders". Views: the caller's
    // query outlives the count.
    page_bytes(std::size_t max, std::string_view rows, std::string_view of)
        : max_(max), rows_name_(rows), of_(of) {}

    // Counts one more row of `bytes` of stored text.
    status add(std::size_t bytes) {
        used_ += bytes;
        ++rows_;
        if (used_ <= max_ || rows_ == 1) return {};
        return fail(errc::too_large, "a page of " + std::string(rows_name_) + " '" +
                                         std::string(of_) + "' passes " + std::to_string(max_) +
                                         " bytes at its row " + std::to_string(rows_) +
                                         ": ask for fewer rows (a smaller limit)");
    }

  private:
    std::size_t max_;
    std::string_view rows_name_;
    std::string_view of_;
    std::size_t used_ = 0;
    std::size_t rows_ = 0;
};

}  // namespace prom::storage
