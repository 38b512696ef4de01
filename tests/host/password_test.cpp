// Password hashes in the app's format verify the password they were made from, and only it.
#include "util/password_hash.hpp"

#include <gtest/gtest.h>

namespace dbtool {
namespace {

TEST(PasswordHash, FormatAndCheck) {
  std::string h = hash_password("s3cret!", 1000);
  EXPECT_EQ(h.rfind("pbkdf2:sha256:1000$", 0), 0u);
  EXPECT_TRUE(check_password(h, "s3cret!"));
  EXPECT_FALSE(check_password(h, "s3cret"));
  EXPECT_NE(hash_password("s3cret!", 1000), h);  // fresh salt each time
}

TEST(PasswordHash, MatchesWerkzeug) {
  // Werkzeug's digest is hashlib.pbkdf2_hmac("sha256", password, salt, iterations).hex();
  // this one was computed that way in Python for "123Qwerty!" with salt "abcdefghijklmnop".
  const std::string h =
      "pbkdf2:sha256:1000$abcdefghijklmnop$8d9c78d2c178c40475b054f1cf56ad2c017ff8fef781b6ee67b135fb86a46150";
  EXPECT_TRUE(check_password(h, "123Qwerty!"));
}

}  // namespace
}  // namespace dbtool
