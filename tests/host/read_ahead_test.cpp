// The import's read-ahead: every byte, in order, across its chunks; the end of a file; a failed
// read; and a consumer that stops early never leaves its thread behind.
#include "util/read_ahead.hpp"
#include "run_dbtool.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dbtool {
namespace {

std::string read_all(const std::filesystem::path& file, int* chunks = nullptr) {
  ReadAhead in(file);
  std::string out;
  for (ReadAhead::Chunk c = in.next(); c.size != 0; c = in.next()) {
    out.append(c.bytes.get(), c.size);
    if (chunks) ++*chunks;
    in.recycle(std::move(c));
  }
  return out;
}

TEST(ReadAhead, GivesEveryByteInOrderAcrossChunks) {
  auto dir = testing::make_temp_dir("dbtool-readahead");
  // Five and a half megabytes and a few bytes: more chunks than buffers, and a short last one.
  std::string bytes;
  for (size_t i = 0; bytes.size() < (11u << 19) + 7; ++i) bytes += std::to_string(i * 2654435761u) + ",";
  testing::write_bytes(dir / "big", bytes);
  int chunks = 0;
  EXPECT_EQ(read_all(dir / "big", &chunks), bytes);
  EXPECT_EQ(chunks, 6);
  testing::write_bytes(dir / "empty", "");
  EXPECT_EQ(read_all(dir / "empty"), "");
  std::filesystem::remove_all(dir);
}

TEST(ReadAhead, AFailedReadIsAnErrorNotAnEnd) {
  auto dir = testing::make_temp_dir("dbtool-readahead");
  // A directory opens but cannot be read: EISDIR must surface, not pass for an empty file.
  try {
    read_all(dir);
    ADD_FAILURE() << "reading a directory succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read " + dir.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(ReadAhead(dir / "missing"), Error);
  std::filesystem::remove_all(dir);
}

TEST(ReadAhead, StoppingEarlyEndsTheReader) {
  auto dir = testing::make_temp_dir("dbtool-readahead");
  testing::write_bytes(dir / "big", std::string(8u << 20, 'x'));
  for (int round = 0; round < 20; ++round) {
    ReadAhead in(dir / "big");
    ReadAhead::Chunk c = in.next();  // the reader now waits for a buffer back, or has filled them all
    EXPECT_EQ(c.size, size_t{1} << 20);
  }  // each destructor must return (the test's timeout catches a hang)
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dbtool
