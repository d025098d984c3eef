// Running recursive library code (valijson compiling a schema) on a stack of a known size,
// whatever thread asks: the caller's may be 8 MiB or much less.
#pragma once

#include <cstddef>
#include <functional>

namespace prom {

// Runs `work` on a thread of its own whose stack is `bytes` large and waits for it to end.
// False when no such thread could be started: `work` did not run. `work` must not throw.
// The stack's memory is only touched, and so only used, as deep as `work` goes.
bool run_on_large_stack(std::size_t bytes, const std::function<void()>& work);

}  // namespace prom
