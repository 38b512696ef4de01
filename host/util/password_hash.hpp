// Password hashes in the app's own format (Werkzeug's generate_password_hash):
// "pbkdf2:sha256:<iterations>$<salt>$<hex digest>", so users can log in to the app.
#pragma once

#include <string>
#include <string_view>

namespace dbtool {

inline constexpr int kPasswordIterations = 600000;

std::string hash_password(std::string_view password, int iterations = kPasswordIterations);
// True when `hash` (in the format above) matches `password`.
bool check_password(std::string_view hash, std::string_view password);

}  // namespace dbtool
