// dbtool::Error knows whether the target was left untouched, and that fact, not the text,
// words "nothing was changed" (in one place, util/error.hpp).
#include <gtest/gtest.h>

#include <string>

#include "util/error.hpp"

namespace dbtool {
namespace {

TEST(ErrorTarget, TheNothingWasChangedNoteComesFromTheType) {
  Error plain("the server went away");
  EXPECT_FALSE(plain.target_untouched());
  EXPECT_EQ(std::string(plain.what()), "the server went away");

  Error e = Error::untouched("verification failed: users holds 1 rows, the source held 2");
  EXPECT_TRUE(e.target_untouched());
  EXPECT_EQ(std::string(e.what()), "verification failed: users holds 1 rows, the source held 2; nothing was changed");

  // Marked once, never worded twice, whatever else the text says.
  Error marked = plain.with_target_untouched();
  EXPECT_TRUE(marked.target_untouched());
  EXPECT_EQ(std::string(marked.what()), "the server went away; nothing was changed");
  EXPECT_EQ(std::string(marked.with_target_untouched().what()), marked.what());
  Error quoting("mysql: describe failed: column 'nothing was changed' is unknown", ExitCode::kCancelled);
  Error quoted = quoting.with_target_untouched();
  EXPECT_EQ(std::string(quoted.what()),
            "mysql: describe failed: column 'nothing was changed' is unknown; nothing was changed");
  EXPECT_EQ(quoted.code(), ExitCode::kCancelled);

  // A hint or a listing follows the note; a message ending a line puts the note on the next.
  EXPECT_EQ(std::string(Error::untouched("refused", ExitCode::kRefused, " (pass --allow-shrink)").what()),
            "refused; nothing was changed (pass --allow-shrink)");
  EXPECT_EQ(std::string(Error::untouched("it would shrink:\n  users: 2 -> 1 rows\n").what()),
            "it would shrink:\n  users: 2 -> 1 rows\nnothing was changed");
  EXPECT_EQ(std::string(Error::untouched("no source delivered the data", ExitCode::kFailure, ":\n  a: down").what()),
            "no source delivered the data; nothing was changed:\n  a: down");
  // Escaped once, as every message.
  EXPECT_EQ(std::string(Error::untouched("bad \x1b[2J input").with_target_untouched().what()),
            "bad \\x1b[2J input; nothing was changed");
}

}  // namespace
}  // namespace dbtool
