// PBKDF2-HMAC-SHA256 through OpenSSL, salts from its CSPRNG.
#include "util/password_hash.hpp"

#include "util/error.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace dbtool {
namespace {

std::string pbkdf2_hex(std::string_view password, std::string_view salt, int iterations) {
  unsigned char out[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), sizeof(out), out) != 1)
    throw Error("PBKDF2 failed");
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : out) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

}  // namespace

std::string hash_password(std::string_view password, int iterations) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char random[16];
  if (RAND_bytes(random, sizeof(random)) != 1) throw Error("no random bytes for a password salt");
  std::string salt;
  for (unsigned char r : random) salt += alphabet[r % (sizeof(alphabet) - 1)];
  return "pbkdf2:sha256:" + std::to_string(iterations) + "$" + salt + "$" + pbkdf2_hex(password, salt, iterations);
}

bool check_password(std::string_view hash, std::string_view password) {
  const std::string_view prefix = "pbkdf2:sha256:";
  if (hash.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = hash.substr(prefix.size());
  size_t d1 = rest.find('$');
  size_t d2 = rest.find('$', d1 == std::string_view::npos ? 0 : d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos) return false;
  int iterations = std::stoi(std::string(rest.substr(0, d1)));
  std::string_view salt = rest.substr(d1 + 1, d2 - d1 - 1);
  std::string expected = pbkdf2_hex(password, salt, iterations);
  std::string_view got = rest.substr(d2 + 1);
  return got.size() == expected.size() && CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

}  // namespace dbtool
