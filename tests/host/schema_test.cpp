// The schema file and the import mapping: the shipped ones parse; every mistake is named by file
// and field.
#include "schema/schema.hpp"
#include "import/import_mapping.hpp"
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
  EXPECT_EQ(s.find_table("users")->column("_uid")->nullable, false);
  EXPECT_EQ(s.find_table("users")->column("_email")->nullable, false);
  EXPECT_EQ(s.find_table("user_transaction_stocks")->column("_transaction_time")->type, "datetime");
  EXPECT_EQ(s.find_table("stock_transactions")->foreign_keys.at(0).on_delete, "cascade");
  EXPECT_EQ(s.checksum.size(), 64u);
  // The normalised form parses again to the same tables.
  boost::json::value v = boost::json::parse(sdk::portable_schema_json(s));
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
  EXPECT_NE(
      error_of(
          R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"int64"}],"primary_key":["b"]}]})")
          .find("primary_key[0]: no column \"b\""),
      std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"int64"}],
      "foreign_keys":[{"name":"f","columns":["a"],"references":{"table":"later","columns":["id"]}}]}]})")
                .find("no table \"later\" declared before this one"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"bool","default":"yes"}]}]})")
          .find("columns[0].default: does not fit"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"name":"x","version":1,"tables":[{"name":"t","colums":[]}]})").find("colums: unknown field"),
            std::string::npos);
}

// What the host sends in stage_begin parses, with the SDK parser every backend uses, back to
// the very model the host holds; a document the host refuses, a backend refuses in the same words.
TEST(Schema, HostAndBackendsReadOneModel) {
  Schema s = load_schema(testing::source_dir() / "schemas" / "schema.json");
  add_history_table(s);
  const sdk::PortableSchema got = sdk::parse_portable_schema(sdk::portable_schema_json(s));  // as stage_begin
  EXPECT_EQ(got.name, s.name);
  EXPECT_EQ(got.version, s.version);
  EXPECT_EQ(got.checksum, s.checksum);
  ASSERT_EQ(got.tables.size(), s.tables.size());
  for (size_t t = 0; t < s.tables.size(); ++t) {
    const sdk::PortableTable &a = s.tables[t], &b = got.tables[t];
    EXPECT_EQ(b.name, a.name);
    ASSERT_EQ(b.columns.size(), a.columns.size());
    for (size_t c = 0; c < a.columns.size(); ++c) {
      EXPECT_EQ(b.columns[c].name, a.columns[c].name);
      EXPECT_EQ(b.columns[c].type, a.columns[c].type);
      EXPECT_EQ(b.columns[c].nullable, a.columns[c].nullable);
      EXPECT_EQ(b.columns[c].auto_increment, a.columns[c].auto_increment);
      EXPECT_EQ(b.columns[c].max_length, a.columns[c].max_length);
      EXPECT_EQ(b.columns[c].default_value, a.columns[c].default_value);
    }
    EXPECT_EQ(b.primary_key, a.primary_key);
    ASSERT_EQ(b.unique.size(), a.unique.size());
    ASSERT_EQ(b.indexes.size(), a.indexes.size());
    ASSERT_EQ(b.foreign_keys.size(), a.foreign_keys.size());
    for (size_t f = 0; f < a.foreign_keys.size(); ++f) {
      EXPECT_EQ(b.foreign_keys[f].ref_table, a.foreign_keys[f].ref_table);
      EXPECT_EQ(b.foreign_keys[f].on_delete, a.foreign_keys[f].on_delete);
    }
  }
  EXPECT_EQ(sdk::portable_schema_json(got), sdk::portable_schema_json(s));

  const std::string table = R"({"name":"x","version":1,"tables":[{"name":"t","columns":[)";
  for (const std::string& bad : {table + R"({"name":"a","type":"int64"}],"primary_key":["a"]}]})",
                                 table + R"({"name":"a","type":"int64","nulable":false}]}]})",
                                 table + R"({"name":"a","type":"int64"}],"unique":[{"name":"k","columns":["a"]}],
                                               "indexes":[{"name":"k","columns":["a"]}]}]})"}) {
    std::string host = error_of(bad), backend;
    try {
      sdk::parse_portable_schema(bad);
    } catch (const sdk::Failure& e) {
      backend = e.what();
    }
    ASSERT_EQ(host.rfind("bad.json: ", 0), 0u) << host;
    ASSERT_EQ(backend.rfind("schema: ", 0), 0u) << backend;
    EXPECT_EQ(host.substr(10), backend.substr(8));
  }
}

// Rules of a schema file on top of the portable schema: a name and a version, no checksum (the
// host computes it), no table of dbtool's own.
TEST(Schema, FileRules) {
  const std::string tables = R"("tables":[{"name":"t","columns":[{"name":"a","type":"int64"}]}])";
  EXPECT_EQ(error_of("{" + tables + "}"), "bad.json: name: missing");
  EXPECT_EQ(error_of(R"({"name":"x",)" + tables + "}"), "bad.json: version: expected a positive integer");
  EXPECT_NE(error_of(R"({"name":"x","version":1,"checksum":"00",)" + tables + "}").find("bad.json: checksum: "),
            std::string::npos);
  EXPECT_EQ(
      error_of(
          R"({"name":"x","version":1,"tables":[{"name":"dbtool_history","columns":[{"name":"a","type":"int64"}]}]})"),
      "bad.json: tables[0] (dbtool_history).name: reserved for dbtool's run history");
  EXPECT_EQ(error_of(R"({"name":"x","version":1,)" + tables + "}"), "");
  // Only dbtool vouches for a key, for rows its importer built; a schema never does.
  EXPECT_EQ(
      error_of(
          R"({"name":"x","version":1,"tables":[{"name":"t","columns":[{"name":"a","type":"int64","nullable":false}],
              "primary_key":["a"],"foreign_keys":[{"name":"f","columns":["a"],"references":{"table":"t","columns":["a"]},
              "guaranteed_by_host":true}]}]})"),
      "bad.json: tables[0] (t).foreign_keys[0].guaranteed_by_host: set by dbtool for the keys its importer builds, "
      "never given in a schema");
}

TEST(Schema, IdentifierRules) {
  EXPECT_TRUE(sdk::is_identifier("_uid"));
  EXPECT_TRUE(sdk::is_identifier("user_sections"));
  EXPECT_FALSE(sdk::is_identifier(""));
  EXPECT_FALSE(sdk::is_identifier("1abc"));
  EXPECT_FALSE(sdk::is_identifier("a-b"));
  EXPECT_FALSE(sdk::is_identifier("a`b"));
  EXPECT_FALSE(sdk::is_identifier(std::string(65, 'a')));
}

// The shipped mapping fits the shipped schema: section ids kept, the app's email placeholder.
TEST(Mapping, ShippedMappingParsesAndItsNewPartsAreChecked) {
  Schema schema = load_schema(testing::source_dir() / "schemas" / "schema.json");
  ImportMapping m = load_mapping(testing::source_dir() / "schemas" / "import-mapping.json", schema);
  ASSERT_EQ(m.when_missing.size(), 1u);
  EXPECT_EQ(m.when_missing[0].field, "email");
  EXPECT_EQ(m.when_missing[0].value, boost::json::value("?"));
  ASSERT_EQ(m.nested.size(), 1u);
  ASSERT_TRUE(m.nested[0].lookup);
  EXPECT_EQ(m.nested[0].lookup->id_field, "id");

  auto error_of_mapping = [&](const std::string& when_missing) -> std::string {
    try {
      parse_mapping(
          R"({"table": "users", "fields": {"uid": "_uid", "email": "_email"}, "when_missing": )" + when_missing + "}",
          "m.json", schema);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of_mapping(R"({"email": "?"})"), "");
  EXPECT_NE(error_of_mapping(R"({"nope": "?"})").find("m.json: when_missing.nope: \"nope\" is not one of the mapped"),
            std::string::npos);
  EXPECT_NE(error_of_mapping(R"({"email": 5})").find("m.json: when_missing.email: does not fit column _email (text)"),
            std::string::npos);
  EXPECT_NE(error_of_mapping(R"({"email": null})").find("when_missing.email: does not fit"), std::string::npos);
  EXPECT_NE(error_of_mapping(R"(["email"])").find("when_missing: expected an object"), std::string::npos);
}

}  // namespace
}  // namespace dbtool
