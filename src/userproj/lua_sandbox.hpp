// A Lua 5.4 state for untrusted handler code: only the base (minus dofile, loadfile, load,
// print; collectgarbage limited to "count" and "collect"), string (minus dump), table,
// math and utf8 libraries; a memory cap through its allocator, an instruction budget
// through a count hook, and a time limit. All three raise ordinary Lua errors, so a runaway
// handler ends in a per-event error and never crashes or stalls the process.
//
// The budget also charges what the VM's instruction count does not see: one instruction
// per `bytes_per_instruction` bytes allocated, so a library call or operator that copies
// (string.rep, `..`, gsub, format, growing tables) costs in proportion to its work. Work
// that neither executes instructions nor allocates (comparing or searching long strings,
// shifting a long table, sorting) is bounded by the time limit, checked every
// `hook_period` instructions. (fuzz/README.md, finding 4.)
//
// One sandbox belongs to one thread at a time. It is not movable (the allocator and the
// hook find it through a pointer).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "prom/error.hpp"

struct lua_State;
struct lua_Debug;

namespace prom::userproj {

class lua_sandbox {
  public:
    // The chunk is compiled as text only (no bytecode) and run once (with the budget) to
    // define its globals. invalid_argument with Lua's message ("lua:3: …") when it fails;
    // the message says when the memory cap or the budget was hit.
    static result<std::unique_ptr<lua_sandbox>> make(std::string_view source,
                                                     std::size_t memory_limit,
                                                     std::uint64_t instruction_budget,
                                                     std::chrono::milliseconds time_limit);

    // The same compilation without running the chunk: Lua's message for a syntax error
    // ("Lua: lua:3: …"), else nothing. For a chunk that prom wraps in code of its own, so that
    // the message is about the author's text alone.
    static std::optional<std::string> syntax_problem(std::string_view source,
                                                     std::size_t memory_limit);

    static constexpr std::size_t bytes_per_instruction = 64;
    static constexpr std::uint64_t hook_period = 1000;
    ~lua_sandbox();
    lua_sandbox(const lua_sandbox&) = delete;
    lua_sandbox& operator=(const lua_sandbox&) = delete;

    lua_State* state() const { return L_; }

    // Calls the C function `fn` (with `arg` as a light userdata) in protected mode, with the
    // instruction budget and the time limit armed afresh. An error becomes invalid_argument
    // with the Lua message.
    status protected_call(int (*fn)(lua_State*), void* arg);

    // Counts `instructions` of work done inside a C function (a pattern match, a copy loop)
    // against the budget of the current call, and checks the time limit; raises the same Lua
    // error as the count hook when either is exhausted. A no-op outside protected_call.
    static void charge(lua_State* L, std::uint64_t instructions);

    std::size_t memory_used() const { return used_; }
    // True when the last failure came from the memory cap, the budget or the time limit.
    bool hit_limit() const { return hit_limit_; }

  private:
    lua_sandbox(std::size_t memory_limit, std::uint64_t budget,
                std::chrono::milliseconds time_limit);
    static void* allocate(void* self, void* ptr, std::size_t old_size, std::size_t new_size);
    static void budget_hook(lua_State* L, lua_Debug* ar);
    // Counts instructions; past the budget or the deadline, raises the error (strict mode).
    static void spend(lua_State* L, std::uint64_t instructions);
    void enter_strict_mode();
    std::uint64_t spent() const { return executed_ + allocated_ / bytes_per_instruction; }

    lua_State* L_ = nullptr;
    std::size_t used_ = 0;
    std::size_t limit_;
    std::uint64_t budget_;
    std::chrono::milliseconds time_limit_;
    // Of the current protected call:
    bool metering_ = false;        // allocations count against the budget
    std::uint64_t executed_ = 0;   // instructions, in steps of the hook's period
    std::uint64_t allocated_ = 0;  // bytes allocated (growth only)
    std::chrono::steady_clock::time_point deadline_{};
    bool refused_allocation_ = false;  // by the memory cap
    bool budget_exceeded_ = false;     // by the budget or the time limit (strict mode)
    bool out_of_time_ = false;
    bool hit_limit_ = false;
};

}  // namespace prom::userproj
