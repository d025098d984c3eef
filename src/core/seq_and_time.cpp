#include "prom/seq_and_time.hpp"

#include <ostream>

namespace prom {

std::ostream& operator<<(std::ostream& os, seq_t s) { return os << s.value; }
std::ostream& operator<<(std::ostream& os, ts_ms t) { return os << t.value; }

}  // namespace prom
