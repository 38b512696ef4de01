// The content digest's two versions (sdk/digest.hpp). Their values are frozen: backups and run
// histories already written record them, so a change here would make every one of them look
// damaged. Version 1 is FNV-1a as dbtool always computed it; version 2 hashes the same
// canonical row with WideHash.
#include <gtest/gtest.h>

#include <dbtool/sdk/digest.hpp>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace {
using dbtool::sdk::ContentDigest;
using dbtool::sdk::kDigestFnv1a;
using dbtool::sdk::kDigestWide;
using dbtool::sdk::RowHash;
using dbtool::sdk::WideHash;

// Two rows: (1, 'Ada Lovelace', NULL, 0.5) and (2, '').
ContentDigest sample(int version) {
  ContentDigest d;
  RowHash h(version);
  h.integer(1);
  h.value("Ada Lovelace");
  h.null();
  h.real(0.5);
  d.add(h);
  h.reset();
  h.integer(2);
  h.value("");
  d.add(h);
  return d;
}

TEST(Digest, VersionOneIsTheFnvDigestEveryRecordedRunAndOldBackupHolds) {
  RowHash h;  // the default, what the host computes for status, verify and the run history
  EXPECT_EQ(h.version(), kDigestFnv1a);
  h.integer(1);
  h.value("Ada Lovelace");
  h.null();
  h.real(0.5);
  EXPECT_EQ(h.get(), 0x2bdf96d3d7de6489ull);
  EXPECT_EQ(sample(kDigestFnv1a).checksum(), "ff1fc4ad1938f547");
  EXPECT_EQ(sample(kDigestFnv1a).rows(), 2);
}

// The host hashes a batch's rows four side by side (fnv1a_rows): each must be the RowHash of
// its row, whatever the rows' lengths and count (the four-row groups and the rows left over).
TEST(Digest, RowsHashedSideBySideAreEachTheirRowHash) {
  for (size_t count : {0, 1, 3, 4, 5, 8, 11}) {
    dbtool::sdk::CanonicalRows rows;
    std::vector<uint64_t> expected;
    for (size_t r = 0; r < count; ++r) {
      RowHash h;
      const std::string text(r * 7 % 23, static_cast<char>('a' + r));
      h.integer(static_cast<int64_t>(r) - 3);
      rows.integer(static_cast<int64_t>(r) - 3);
      h.value(text);
      rows.value(text);
      if (r % 2) {
        h.null();
        rows.null();
      }
      h.real(0.25 * static_cast<double>(r));
      rows.real(0.25 * static_cast<double>(r));
      rows.end_row();
      expected.push_back(h.get());
    }
    std::vector<uint64_t> got;
    rows.hash(got);
    EXPECT_EQ(got, expected) << count << " rows";
  }
}

TEST(Digest, VersionTwoHashesTheSameRowsEightBytesAtATime) {
  EXPECT_EQ(sample(kDigestWide).checksum(), "36c67cb69293ed7d");
  EXPECT_EQ(sample(kDigestWide).rows(), 2);
  EXPECT_NE(sample(kDigestWide).checksum(), sample(kDigestFnv1a).checksum());
  // A row is its canonical form: "V1:1V12:Ada LovelaceNV3:0.5".
  RowHash h(kDigestWide);
  h.integer(1);
  h.value("Ada Lovelace");
  h.null();
  h.real(0.5);
  EXPECT_EQ(h.get(), WideHash::of("V1:1V12:Ada LovelaceNV3:0.5"));
  EXPECT_EQ(WideHash::of(""), 0x080e3e39373e1d1aull);
  EXPECT_EQ(WideHash::of("abc"), 0x7824406cc1063972ull);
  EXPECT_EQ(WideHash::of("abcdefgh"), 0xbab100b2dd286e5full);
}

TEST(Digest, WideHashFedInWholeWordsEqualsTheHashOfTheWhole) {
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>(i * 37 + 11);
  WideHash pieces;
  pieces.update(bytes.data(), 512);
  pieces.update(bytes.data() + 512, 256);
  pieces.update(bytes.data() + 768, bytes.size() - 768);
  EXPECT_EQ(pieces.get(), WideHash::of(bytes));
}

TEST(Digest, WideHashTellsApartWhatDiffersInOneByteOrInLength) {
  const std::string base = "0123456789abcdef0123";
  for (size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] ^= 1;
    EXPECT_NE(WideHash::of(changed), WideHash::of(base)) << i;
  }
  EXPECT_NE(WideHash::of(std::string("abc")), WideHash::of(std::string("abc\0", 4)));
  EXPECT_NE(WideHash::of(std::string(8, '\0')), WideHash::of(std::string(16, '\0')));
  EXPECT_NE(WideHash::of(""), WideHash::of(std::string(1, '\0')));
  // The checksum does not depend on row order; the values' order within a row counts.
  auto rows = [](std::initializer_list<std::pair<const char*, const char*>> list) {
    ContentDigest d;
    RowHash h(kDigestWide);
    for (const auto& [a, b] : list) {
      h.reset();
      h.value(a);
      h.value(b);
      d.add(h);
    }
    return d.checksum();
  };
  EXPECT_EQ(rows({{"x", "y"}, {"p", "q"}}), rows({{"p", "q"}, {"x", "y"}}));
  EXPECT_NE(rows({{"x", "y"}}), rows({{"y", "x"}}));
  EXPECT_NE(rows({{"xy", ""}}), rows({{"x", "y"}}));
}

}  // namespace
