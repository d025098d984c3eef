// make_user_handler (include/prom/user_projector.hpp): a declarative or a Lua handler.
#include "prom/user_projector.hpp"
#include "userproj/compiled_definition.hpp"
#include "userproj/declarative_handler.hpp"
#include "userproj/lua_handler.hpp"

namespace prom {

projector_handler make_user_handler(std::shared_ptr<const projector_definition> definition,
                                    user_handler_options options) {
    if (!definition || !definition->compiled) {
        return [](const event&, transaction&) -> status {
            return fail(errc::internal, "a user handler without a parsed definition");
        };
    }
    if (definition->compiled->lua.empty()) {
        return [definition, options = std::move(options)](const event& e, transaction& txn) {
            return userproj::apply_declarative(*definition->compiled, options, e, txn);
        };
    }
    // std::function copies its target: the copies share the one Lua state of this handler.
    auto lua = std::make_shared<userproj::lua_handler>(std::move(definition), std::move(options));
    return [lua](const event& e, transaction& txn) { return lua->handle(e, txn); };
}

}  // namespace prom
