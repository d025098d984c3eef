// The handler of a Lua definition: `function handle(event, tx) … end` in a sandbox
// (lua_sandbox.hpp), with tx:get, tx:update and tx:emit working inside the projector's
// transaction. docs/projectors.md documents the API.
//
// A lua_handler owns one Lua state. handle() serialises its callers (a handler copied into
// several projectors by mistake stays correct, only slower): make one handler per runner.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/user_projector.hpp"
#include "userproj/lua_sandbox.hpp"

namespace prom::userproj {

// nullopt when `source` compiles (as text) and defines a global function `handle`; else a
// message with the line of a syntax error. Runs the chunk once, in the sandbox.
std::optional<std::string> lua_definition_problem(std::string_view source);
// nullopt when `source` compiles as text; else Lua's message with the line. Runs nothing.
std::optional<std::string> lua_syntax_problem(std::string_view source);

class lua_handler {
  public:
    lua_handler(std::shared_ptr<const projector_definition> definition,
                user_handler_options options);

    // Applies one event: ok without effects when `where` does not match; invalid_argument
    // for a Lua error, an exhausted budget or memory cap, a refused emit or write; the
    // store's own errors as they come. Effects of a failed call are in `txn` only, which
    // the projector rolls back.
    status handle(const event& e, transaction& txn);

    // Per-call state the tx methods reach through the tx userdata.
    struct call;

  private:
    status ensure_state();

    std::shared_ptr<const projector_definition> definition_;
    user_handler_options options_;
    std::mutex mu_;                         // guards everything below
    std::unique_ptr<lua_sandbox> sandbox_;  // remade after a limit was hit
    call** tx_slot_ = nullptr;              // inside sandbox_: the call the tx userdata reaches
};

}  // namespace prom::userproj
