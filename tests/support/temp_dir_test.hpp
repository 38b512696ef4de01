// A test fixture with a fresh folder of its own, dir_ ("dbtool-<suite>-..." under the system
// temp folder), removed after a test that passed and kept for post-mortem after one that failed;
// db_ is the usual database file in it (not created). A fixture that does more in SetUp calls
// TempDirTest::SetUp() first.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "run_dbtool.hpp"

namespace dbtool::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir(std::string("dbtool-") +
                         ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name());
    db_ = dir_ / "app.db";
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_, db_;
};

}  // namespace dbtool::testing
