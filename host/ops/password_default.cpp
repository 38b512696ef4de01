// The default password for users that arrive without a hash, hashed once per run.
#include "ops/import_load.hpp"

#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/password_hash.hpp"

namespace dbtool {

std::optional<std::string> default_password_hash(const char* builtin) {
  std::optional<std::string> password =
      find_secret({"DBTOOL_DEFAULT_PASSWORD"}, "Default password for users without one", builtin == nullptr);
  if (!password && builtin != nullptr) {
    log_info("test users get the built-in default password; set DBTOOL_DEFAULT_PASSWORD to choose another");
    password = builtin;
  }
  if (!password) return std::nullopt;
  return hash_password(*password);
}

}  // namespace dbtool
