// The one portable-schema parser (dbtool/sdk/schema.hpp), compiled as C++17: the rules the host's
// former parser and the SDK's used to disagree on, now one set for host and backends alike.
#include <gtest/gtest.h>

#include <dbtool/sdk/schema.hpp>

#include <string>

namespace {

using dbtool::sdk::Failure;
using dbtool::sdk::parse_portable_schema;
using dbtool::sdk::PortableSchema;

// One table `t` whose columns and table-level keys are given as JSON text.
std::string table_doc(const std::string& columns, const std::string& rest = "") {
  return R"({"tables": [{"name": "t", "columns": [)" + columns + "]" + rest + "}]}";
}

// The message of the refusal, or "" when the document parses.
std::string error_of(const std::string& text) {
  try {
    parse_portable_schema(text);
  } catch (const Failure& e) {
    EXPECT_EQ(e.status(), DBTOOL_ERR_INVALID_ARGUMENT);
    return e.what();
  }
  return "";
}

TEST(SdkSchema, UnknownKeysAreRefusedAtEveryLevelNamingTheField) {
  EXPECT_EQ(error_of(R"({"tables": [], "extra": 1})"), "schema: extra: unknown field");
  EXPECT_EQ(error_of(R"({"tables": [{"name": "t", "colums": []}]})"), "schema: tables[0] (t).colums: unknown field");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64", "nulable": false})")),
            "schema: tables[0] (t).columns[0].nulable: unknown field");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64"})",
                               R"(, "unique": [{"name": "u", "columns": ["a"], "where": 1}])")),
            "schema: tables[0] (t).unique[0].where: unknown field");
  EXPECT_EQ(
      error_of(table_doc(
          R"({"name": "a", "type": "int64"})",
          R"(, "foreign_keys": [{"name": "f", "columns": ["a"], "references": {"table": "t", "columns": ["a"], "x": 1}}])")),
      "schema: tables[0] (t).foreign_keys[0].references.x: unknown field");
}

TEST(SdkSchema, APrimaryKeyColumnMustBeDeclaredNotNullable) {
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64"})", R"(, "primary_key": ["a"])")),
            "schema: tables[0] (t).primary_key[0]: column \"a\" must be declared \"nullable\": false");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64", "nullable": false})", R"(, "primary_key": ["a"])")),
            "");
}

TEST(SdkSchema, AnEmptyPrimaryKeyMeansNoneAndRoundTrips) {
  // portable_schema_json writes "primary_key": [] for a table without one; it must parse back.
  PortableSchema s = parse_portable_schema(table_doc(R"({"name": "a", "type": "text"})"));
  EXPECT_TRUE(s.tables.at(0).primary_key.empty());
  PortableSchema again = parse_portable_schema(dbtool::sdk::portable_schema_json(s));
  EXPECT_EQ(dbtool::sdk::portable_schema_json(again), dbtool::sdk::portable_schema_json(s));
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "int64"})", R"(, "unique": [{"name": "u", "columns": []}])")),
            "");
}

TEST(SdkSchema, DefaultsMustFitTheirColumn) {
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "bool", "default": "yes"})")),
            "schema: tables[0] (t).columns[0].default: does not fit the column's type bool");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "date", "default": "2023-02-29"})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "int64", "default": "1"})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "int64", "default": 18446744073709551615})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "blob", "default": "00"})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "text", "default": {"x": 1}})")), "");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "text", "max_length": 3, "default": "abcd"})")),
            "schema: tables[0] (t).columns[0].default: longer than max_length");
  // max_length counts characters, not bytes.
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "text", "max_length": 3, "default": "été"})")), "");
  // null is "no default".
  PortableSchema s = parse_portable_schema(table_doc(R"({"name": "a", "type": "int64", "default": null})"));
  EXPECT_TRUE(s.tables[0].columns[0].default_value.is_null());
}

TEST(SdkSchema, ColumnAttributesAreChecked) {
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "varchar"})")),
            "schema: tables[0] (t).columns[0].type: unknown type \"varchar\" "
            "(int64, float64, bool, text, json, blob, timestamp, date, datetime)");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64", "nullable": null})")),
            "schema: tables[0] (t).columns[0].nullable: expected true or false");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "text", "max_length": 65536})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "int64", "max_length": 10})")), "");
  EXPECT_NE(error_of(table_doc(R"({"name": "a", "type": "text", "auto_increment": true})")), "");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a", "type": "int64"}, {"name": "a", "type": "text"})")),
            "schema: tables[0] (t).columns[1].name: duplicate column \"a\"");
  EXPECT_EQ(error_of(table_doc(R"({"name": "a b", "type": "int64"})")),
            "schema: tables[0] (t).columns[0].name: \"a b\" is not a valid identifier ([A-Za-z_][A-Za-z0-9_]{0,63})");
}

TEST(SdkSchema, KeysAndConstraintNamesAreChecked) {
  EXPECT_EQ(
      error_of(table_doc(R"({"name": "a", "type": "int64", "nullable": false})", R"(, "primary_key": ["a", "a"])")),
      "schema: tables[0] (t).primary_key[1]: repeats the column \"a\"");
  EXPECT_EQ(
      error_of(table_doc(R"({"name": "a", "type": "int64"})", R"(, "indexes": [{"name": "i", "columns": ["b"]}])")),
      "schema: tables[0] (t).indexes[0].columns[0]: no column \"b\" in table t");
  // A constraint name is used once in the whole schema (one namespace on SQLite and PostgreSQL).
  EXPECT_EQ(
      error_of(
          R"({"tables": [{"name": "p", "columns": [{"name": "a", "type": "int64"}], "indexes": [{"name": "k", "columns": ["a"]}]},
                                    {"name": "c", "columns": [{"name": "a", "type": "int64"}], "unique": [{"name": "k", "columns": ["a"]}]}]})"),
      "schema: tables[1] (c).unique[0].name: duplicate constraint name \"k\"");
  EXPECT_EQ(error_of(R"({"tables": [{"name": "c", "columns": [{"name": "p", "type": "int64"}],
      "foreign_keys": [{"name": "f", "columns": ["p"], "references": {"table": "later", "columns": ["id"]}}]}]})"),
            "schema: tables[0] (c).foreign_keys[0].references.table: no table \"later\" declared before this one (list "
            "parents first)");
  EXPECT_NE(
      error_of(table_doc(
          R"({"name": "a", "type": "int64"})",
          R"(, "foreign_keys": [{"name": "f", "columns": ["a"], "references": {"table": "t", "columns": ["a"]}, "on_delete": "explode"}])")),
      "");
}

TEST(SdkSchema, TheDocumentKeysAreReadWhenPresent) {
  // stage_begin's form: name, version, checksum; describe_schema's form has none of them.
  PortableSchema s = parse_portable_schema(
      R"({"name": "app", "version": 3, "checksum": "abc", "tables": [{"name": "t", "columns": [{"name": "a", "type": "int64"}]}]})");
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.version, 3);
  EXPECT_EQ(s.checksum, "abc");
  EXPECT_EQ(parse_portable_schema(table_doc(R"({"name": "a", "type": "int64"})")).version, 0);
  EXPECT_EQ(error_of(R"({"version": 0, "tables": []})"), "schema: version: expected a positive integer");
  EXPECT_EQ(error_of(R"({"tables": []})"), "schema: tables: declares no table");
  EXPECT_EQ(error_of("{").rfind("schema: not valid JSON: ", 0), 0u);
  // The text stage_begin gets parses back to the same document.
  EXPECT_EQ(dbtool::sdk::portable_schema_json(parse_portable_schema(dbtool::sdk::portable_schema_json(s))),
            dbtool::sdk::portable_schema_json(s));
}

// ABI 1.3's "guaranteed_by_host": read, written only when set (so a document without it is
// the same text a 1.2 backend accepts), and a boolean or nothing.
TEST(SdkSchema, AHostGuaranteedForeignKeyIsReadAndWrittenOnlyWhenSet) {
  auto doc = [](const std::string& flag) {
    return table_doc(R"({"name": "a", "type": "int64", "nullable": false}, {"name": "p", "type": "int64"})",
                     R"(, "primary_key": ["a"], "foreign_keys": [{"name": "f", "columns": ["p"],
                        "references": {"table": "t", "columns": ["a"]})" +
                         flag + "}]");
  };
  PortableSchema plain = parse_portable_schema(doc(""));
  EXPECT_FALSE(plain.tables[0].foreign_keys[0].guaranteed_by_host);
  EXPECT_EQ(dbtool::sdk::portable_schema_json(plain).find("guaranteed_by_host"), std::string::npos);
  PortableSchema vouched = parse_portable_schema(doc(R"(, "guaranteed_by_host": true)"));
  EXPECT_TRUE(vouched.tables[0].foreign_keys[0].guaranteed_by_host);
  PortableSchema again = parse_portable_schema(dbtool::sdk::portable_schema_json(vouched));
  EXPECT_TRUE(again.tables[0].foreign_keys[0].guaranteed_by_host);
  EXPECT_FALSE(
      parse_portable_schema(doc(R"(, "guaranteed_by_host": false)")).tables[0].foreign_keys[0].guaranteed_by_host);
  EXPECT_NE(error_of(doc(R"(, "guaranteed_by_host": 1)")).find("foreign_keys[0].guaranteed_by_host"),
            std::string::npos);
}

TEST(SdkSchema, QuotedListAndSqlLiteralForDdl) {
  auto quote = [](const std::string& n) { return "[" + n + "]"; };
  EXPECT_EQ(dbtool::sdk::quoted_list({"a", "b c"}, quote), "[a], [b c]");
  EXPECT_EQ(dbtool::sdk::quoted_list({}, quote), "");
  auto quote_string = [](std::string_view s) { return "'" + std::string(s) + "'"; };
  EXPECT_EQ(dbtool::sdk::sql_literal(boost::json::value(true), quote_string), "1");
  EXPECT_EQ(dbtool::sdk::sql_literal(boost::json::value(-5), quote_string), "-5");
  EXPECT_EQ(dbtool::sdk::sql_literal(boost::json::value(0.1), quote_string), "0.10000000000000001");
  EXPECT_EQ(dbtool::sdk::sql_literal(boost::json::value("x"), quote_string), "'x'");
  EXPECT_EQ(dbtool::sdk::sql_literal(boost::json::value(nullptr), quote_string), "NULL");
}

}  // namespace
