// Names the calling thread, as `top -H`, `ps -L`, perf, gdb and /proc/<pid>/task/*/comm
// show it, so that "which thread spends the CPU" has an answer without a debugger
// (docs/threads.md, "Thread names"). Linux keeps at most 15 bytes; a longer name is cut.
#pragma once

#include <pthread.h>

#include <cstring>
#include <string_view>

namespace prom {

inline void name_this_thread(std::string_view name) noexcept {
    char cut[16] = {};
    std::memcpy(cut, name.data(), name.size() < 15 ? name.size() : 15);
    (void)pthread_setname_np(pthread_self(), cut);  // only fails for a name too long
}

}  // namespace prom
