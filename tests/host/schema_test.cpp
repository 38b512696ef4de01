// The schema file: the shipped one parses; every mistake is named by file and field.
#include "schema/schema.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_schema(text, "bad.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  return "";
}

TEST(Schema, ShippedSchemaParses) {
  Schema s = load_schema(testing::source_dir() / "schemas" / "schema.json");
  EXPECT_EQ(s.name, "user_management");
  ASSERT_NE(s.find_table("users"), nullptr);
  ASSERT_NE(s.find_table("sections"), nullptr);
  ASSERT_NE(s.find_table("user_sections"), nullptr);
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.find_table("users")->find_column("_uid")->nullable, false);
  EXPECT_EQ(s.find_table("users")->find_column("_email")->nullable, false);
  EXPECT_EQ(s.find_table("user_transaction_stocks")->find_column("_transaction_time")->type, PortableType::kDateTime);
  EXPECT_EQ(s.find_table("stock_transactions")->foreign_keys.at(0).on_delete, "cascade");
  EXPECT_EQ(s.checksum.size(), 64u);
  // The normalised form parses again to the same tables.
  boost::json::value v = boost::json::parse(s.to_backend_json());
  EXPECT_EQ(v.at("tables").as_array().size(), 7u);
}

TEST(Schema, ErrorsNameFileAndField) {
  EXPECT_NE(error_of("{").find("bad.json: not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"varchar"}]}]})")
                .find("bad.json: tables[0] (t).columns[0].type: unknown type \"varchar\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t; DROP TABLE users","columns":[]}]})")
                .find("tables[0].name: \"t; DROP TABLE users\" is not a valid identifier"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":0,"tables":[]})").find("version: expected a positive integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"int64"}],"primary_key":["b"]}]})")
                .find("primary_key[0]: no column \"b\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"int64"}],
      "foreign_keys":[{"name":"f","columns":["a"],"references":{"table":"later","columns":["id"]}}]}]})")
                .find("no table \"later\" declared before this one"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"bool","default":"yes"}]}]})")
                .find("columns[0].default: does not fit"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","colums":[]}]})").find("colums: unknown field"),
            std::string::npos);
}

TEST(Schema, IdentifierRules) {
  EXPECT_TRUE(is_valid_identifier("_uid"));
  EXPECT_TRUE(is_valid_identifier("user_sections"));
  EXPECT_FALSE(is_valid_identifier(""));
  EXPECT_FALSE(is_valid_identifier("1abc"));
  EXPECT_FALSE(is_valid_identifier("a-b"));
  EXPECT_FALSE(is_valid_identifier("a`b"));
  EXPECT_FALSE(is_valid_identifier(std::string(65, 'a')));
}

}  // namespace
}  // namespace dbtool
