// The import path without a database: export files through the shipped schema and mapping into
// a sink that collects every batch, so each mapping step is checked row by row — ids, look-up
// rows, the all-or-nothing rule for a record that fails half-way, counters, and the errors.
#include "import/export_import.hpp"
#include "import/record_mapper.hpp"
#include "import/record_tape.hpp"
#include "run_dbtool.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace dbtool {
namespace {
namespace fs = std::filesystem;

// Every row of every batch, each cell as text ("NULL" for null), per table, in load order.
using Rows = std::map<std::string, std::vector<std::vector<std::string>>>;

struct Collected {
  Rows rows;
  ImportReport report;
  std::vector<std::string> batch_tables;  // in the order the sink got them
};

std::string cell_text(const sdk::BatchView& view, size_t col, int64_t row) {
  if (view.is_null(col, row)) return "NULL";
  switch (view.spec(col).type) {
    case sdk::ColumnType::Bool:
      return view.get_bool(col, row) ? "true" : "false";
    case sdk::ColumnType::Int64:
      return std::to_string(view.get_int64(col, row));
    case sdk::ColumnType::Float64:
      return std::to_string(view.get_double(col, row));
    case sdk::ColumnType::Utf8:
    case sdk::ColumnType::Binary:
      return std::string(view.get_bytes(col, row));
    case sdk::ColumnType::Null:
      break;
  }
  return "NULL";
}

class ImportPath : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("dbtool-import-test");
    schema_ = load_schema(testing::source_dir() / "schemas" / "schema.json");
    mapping_ = load_mapping(testing::source_dir() / "schemas" / "import-mapping.json", schema_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path file(const std::string& name, const std::string& json) {
    fs::path p = dir_ / name;
    testing::write_bytes(p, json);
    return p;
  }

  Collected import(const std::vector<fs::path>& files, ImportOptions options = {}) {
    Collected c;
    if (!options.default_password_hash) options.default_password_hash = [] { return std::string("DEFAULT-HASH"); };
    c.report = import_files(files, schema_, mapping_, options, [&](ImportBatch&& b) {
      sdk::BatchView view(b.columns, b.array.a);
      c.batch_tables.push_back(b.table);
      for (int64_t r = 0; r < view.rows(); ++r) {
        std::vector<std::string> row;
        for (size_t col = 0; col < view.columns(); ++col) row.push_back(cell_text(view, col, r));
        c.rows[b.table].push_back(std::move(row));
      }
    });
    return c;
  }

  // The message of the error import() throws, or "" when it does not.
  std::string error_of(const std::string& json) {
    try {
      import({file("e.json", json)});
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kDataError);
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  Schema schema_;
  ImportMapping mapping_;
};

using Row = std::vector<std::string>;

TEST_F(ImportPath, EachStepOfTheMappingGivesItsColumns) {
  Collected c = import({file("export.json", R"([
    {"id": 7, "uid": "u7", "name": "Ann", "email": "a@x", "password": "H7", "role": "Admin",
     "pfp": null, "kasm_server_needed": true, "sid": 99, "access": ["x"],
     "sections": [{"abbreviation": "CSA", "name": "Computer Science A", "id": 3, "year": 2024},
                  {"abbreviation": "CSP", "name": "Principles", "year": 2025}]},
    {"uid": "u8", "name": "Bo", "password": null,
     "sections": [{"abbreviation": "CSA", "name": "renamed later: ignored", "year": null},
                  {"abbreviation": "CSA"}]},
    {"id": 2, "uid": "u2", "name": "Cy", "email": "c@x", "password": "H2", "sections": null}
  ])")});

  // Own fields, the ignored field, the password default, the id after the highest, defaults.
  EXPECT_EQ(c.rows["users"], (std::vector<Row>{
                                 {"7", "Ann", "u7", "a@x", "H7", "Admin", "NULL", "true"},
                                 {"8", "Bo", "u8", "?", "DEFAULT-HASH", "User", "NULL", "false"},
                                 {"2", "Cy", "u2", "c@x", "H2", "User", "NULL", "false"},
                             }));
  // Look-up rows once per key: the id given, then the next after the highest.
  EXPECT_EQ(c.rows["sections"], (std::vector<Row>{{"3", "Computer Science A", "CSA"}, {"4", "Principles", "CSP"}}));
  // Children point at their parent's id and the look-up's id; the repeated key is kept once.
  EXPECT_EQ(c.rows["user_sections"], (std::vector<Row>{{"7", "3", "2024"}, {"7", "4", "2025"}, {"8", "3", "NULL"}}));

  EXPECT_EQ(c.report.records_read, 3);
  EXPECT_EQ(c.report.records_loaded, 3);
  EXPECT_EQ(c.report.default_password_users, 1);
  EXPECT_EQ(c.report.duplicate_nested, 1);
  EXPECT_EQ(c.report.when_missing, (std::map<std::string, int64_t>{{"email", 1}}));
  EXPECT_EQ(c.report.unknown_fields, (std::map<std::string, int64_t>{{"sid", 1}}));
  EXPECT_EQ(c.report.rows.at("users"), 3);
  EXPECT_EQ(c.report.rows.at("sections"), 2);
  EXPECT_EQ(c.report.rows.at("user_sections"), 3);
  EXPECT_EQ(c.report.rows.at("table_stocks"), 0);
  // Parents before children in every flush.
  EXPECT_EQ(c.batch_tables, (std::vector<std::string>{"users", "sections", "user_sections"}));
}

// A record that fails in its second section leaves no row, no look-up key and no id behind: the
// next record gets the ids as if it had never been there.
TEST_F(ImportPath, ARecordThatFailsHalfWayLeavesNothing) {
  std::ostringstream rejects;
  ImportOptions options;
  options.reject_sink = &rejects;
  Collected c = import({file("export.json", R"([
    {"id": 1, "uid": "u1", "name": "A", "email": "a", "password": "h", "sections": [{"abbreviation": "A1", "name": "N1"}]},
    {"id": 50, "uid": "u50", "name": "B", "email": "b", "password": "h", "extra": 1,
     "sections": [{"abbreviation": "NEW", "name": "N"}, {"abbreviation": "BAD", "name": "B", "year": "soon"}]},
    {"uid": "u2", "name": "C", "email": "c", "password": "h", "sections": [{"abbreviation": "NEW2", "name": "N2"}]}
  ])")},
                       options);
  EXPECT_EQ(c.rows["users"], (std::vector<Row>{{"1", "A", "u1", "a", "h", "User", "NULL", "false"},
                                               {"2", "C", "u2", "c", "h", "User", "NULL", "false"}}));
  EXPECT_EQ(c.rows["sections"], (std::vector<Row>{{"1", "N1", "A1"}, {"2", "N2", "NEW2"}}));
  EXPECT_EQ(c.rows["user_sections"], (std::vector<Row>{{"1", "1", "NULL"}, {"2", "2", "NULL"}}));
  EXPECT_EQ(c.report.records_rejected, 1);
  EXPECT_EQ(c.report.records_loaded, 2);
  EXPECT_NE(rejects.str().find(R"("reason":"field 'sections[1].year': expected an integer, got a string")"),
            std::string::npos)
      << rejects.str();
}

TEST_F(ImportPath, ErrorsNameTheRecordAndTheField) {
  EXPECT_EQ(error_of(R"([{"uid": "u1", "name": 5}])"),
            "record 0 (uid u1) of " + (dir_ / "e.json").string() +
                ": field 'name': expected a string, got a number; nothing was changed (use --reject-file to set such "
                "records aside)");
  EXPECT_NE(error_of(R"([{"uid": "u1", "name": "A", "email": "a", "password": "h", "uid": "u2"}])")
                .find("the key \"uid\" appears twice in one object"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"([{"uid": "u1", "name": "A", "password": "h", "sections": [{"abbreviation": "X", "name": "X", "id": 1}]},
                         {"uid": "u2", "name": "B", "password": "h", "sections": [{"abbreviation": "X", "id": 2}]}])")
          .find("record 1 (uid u2) of " + (dir_ / "e.json").string() +
                ": field 'sections[0].id': sections._abbreviation \"X\" is given id 2 here, but id 1 by record 0 "
                "(uid u1)"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"([{"uid": "u1", "name": "A", "password": "h", "sections": [{"abbreviation": "X", "name": "X", "id": 1},
                                                                                 {"abbreviation": "Y", "name": "Y", "id": 1}]}])")
          .find("id 1 of sections is given to sections._abbreviation \"Y\" here, but to \"X\" earlier in this "
                "record"),
      std::string::npos);
  EXPECT_NE(error_of(R"([{"uid": "u1", "password": "h"}])").find("missing required field 'name' (column _name"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"uid": "u1", "name": "A", "password": "h", "sections": {"abbreviation": "X"}}])")
                .find("field 'sections': expected an array, got an object"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"uid": "u1", "name": "A", "password": "h", "sections": [{"name": "X"}]}])")
                .find("field 'sections[0].abbreviation': expected a string, got nothing"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"id": 9223372036854775807, "uid": "u1", "name": "A", "password": "h"},
                         {"uid": "u2", "name": "B", "password": "h"}])")
                .find("has no id, and none is left after 9223372036854775807"),
            std::string::npos);
}

// Default data (a later file) loads only the keys the export does not have; look-up keys and
// ids continue across files.
TEST_F(ImportPath, LaterFilesAddOnlyWhatTheExportLacks) {
  Collected c = import({file("export.json", R"([{"id": 3, "uid": "admin", "name": "From export", "email": "e",
                                                 "password": "h", "sections": [{"abbreviation": "S", "name": "S", "id": 5}]}])"),
                        file("defaults.json", R"([{"uid": "admin", "name": "Default", "password": "d"},
                                                  {"uid": "guest", "name": "Guest", "password": "g",
                                                   "sections": [{"abbreviation": "S"}]}])")});
  ASSERT_EQ(c.rows["users"].size(), 2u);
  EXPECT_EQ(c.rows["users"][0][1], "From export");
  EXPECT_EQ(c.rows["users"][1], (Row{"4", "Guest", "guest", "?", "g", "User", "NULL", "false"}));
  EXPECT_EQ(c.rows["user_sections"], (std::vector<Row>{{"3", "5", "NULL"}, {"4", "5", "NULL"}}));
  EXPECT_EQ(c.report.records_skipped, 1);
}

// The keys the host vouches for on the JSON-import path: exactly the mapping's parent and look-up
// links, and none once anything about a key does not match such a link.
TEST_F(ImportPath, TheMapperVouchesOnlyForTheLinksItBuilds) {
  EXPECT_EQ(foreign_keys_built_by(mapping_, schema_),
            (std::set<std::string>{"fk_user_sections_user", "fk_user_sections_section"}));
  const fs::path mapping_file = testing::source_dir() / "schemas" / "import-mapping.json";
  auto vouched_with = [&](const std::function<void(Schema&)>& change) {
    Schema s = schema_;
    change(s);
    return foreign_keys_built_by(load_mapping(mapping_file, s), s);
  };
  auto table = [](Schema& s, const char* name) -> PortableTable& {
    for (auto& t : s.tables)
      if (t.name == name) return t;
    throw std::runtime_error(name);
  };
  // A key on a column the export fills (year) is the export's business, not the mapper's.
  EXPECT_EQ(
      vouched_with([&](Schema& s) {
        table(s, "user_sections").foreign_keys.push_back({"fk_year", {"year"}, "users", {"id"}, "no action", false});
      }),
      (std::set<std::string>{"fk_user_sections_user", "fk_user_sections_section"}));
  // Another referenced column than the one the link copies.
  EXPECT_EQ(vouched_with([&](Schema& s) { table(s, "user_sections").foreign_keys[0].ref_columns = {"_pfp"}; }),
            (std::set<std::string>{"fk_user_sections_section"}));
  // Columns of two types: the database would compare converted values.
  EXPECT_EQ(vouched_with([&](Schema& s) { table(s, "user_sections").columns[1].type = "text"; }),
            (std::set<std::string>{"fk_user_sections_user"}));
  // A key on the record's own table or a look-up table holds the export's values.
  EXPECT_EQ(vouched_with([&](Schema& s) {
              table(s, "sections")
                  .foreign_keys.push_back({"fk_sections_self", {"id"}, "sections", {"id"}, "no action", false});
              table(s, "users").foreign_keys.push_back({"fk_users_self", {"id"}, "users", {"id"}, "no action", false});
            }),
            (std::set<std::string>{"fk_user_sections_user", "fk_user_sections_section"}));
}

// What the vouching rests on: every user_sections row the import emits refers to a user and a
// section it emitted too, across files and after a record that failed half-way (rejected after
// meeting a new section, which must not count as loaded).
TEST_F(ImportPath, EveryBuiltReferenceFindsARowTheImportEmitted) {
  std::ostringstream rejects;
  ImportOptions options;
  options.reject_sink = &rejects;
  Collected c = import({file("export.json", R"([
      {"uid": "a", "name": "A", "password": "h", "sections": [{"abbreviation": "S1", "name": "S", "id": 10}]},
      {"uid": "b", "name": "B", "password": "h", "sections": [{"abbreviation": "NEW", "name": "N"}, {"name": "no key"}]},
      {"uid": "c", "name": "C", "password": "h", "sections": [{"abbreviation": "NEW", "name": "N"}, {"abbreviation": "S1"}]},
      {"id": 40, "uid": "d", "name": "D", "password": "h", "sections": [{"abbreviation": "S1"}, {"abbreviation": "S1"}]}])"),
                        file("defaults.json", R"([{"uid": "e", "name": "E", "password": "h",
                                                   "sections": [{"abbreviation": "NEW"}, {"abbreviation": "D1", "name": "D"}]}])")},
                       options);
  EXPECT_EQ(c.report.records_rejected, 1) << rejects.str();
  std::set<std::string> users, sections;
  for (const auto& u : c.rows["users"]) users.insert(u[0]);
  for (const auto& s : c.rows["sections"]) sections.insert(s[0]);
  ASSERT_EQ(c.rows["user_sections"].size(), 6u);
  for (const auto& us : c.rows["user_sections"]) {
    EXPECT_EQ(users.count(us[0]), 1u) << "user_id " << us[0];
    EXPECT_EQ(sections.count(us[1]), 1u) << "section_id " << us[1];
  }
}

// Keys are resolved to ids as the export is parsed (record_tape.hpp); a record must still be
// judged as JSON keeps it: a repeated key refuses it, naming the key (even past the names that
// get ids), and its reject line holds the record with the last value at the first key's place.
TEST_F(ImportPath, RepeatedKeysAreJudgedOnTheRecordAsJsonKeepsIt) {
  std::string many = R"({"uid": "many", "name": "M", "password": "h")";
  for (size_t k = 0; k < FieldNames::kMaxNames + 10; ++k) many += ", \"f" + std::to_string(k) + "\": 1";
  many += ", \"f" + std::to_string(FieldNames::kMaxNames + 5) + "\": 2}";
  std::ostringstream rejects;
  ImportOptions options;
  options.reject_sink = &rejects;
  Collected c = import({file("export.json", R"([
      {"uid": "a", "name": "A", "password": "h", "": 1, "": 2},
      {"uid": "b", "name": "B", "password": "h", "grade_data": {"x": 1, "y": 2, "x": 3}},
      )" + many + R"(,
      {"uid": "c", "name": "C", "password": "h", "sections": [{"abbreviation": "S", "name": "S", "name": "T"}]},
      {"uid": "d", "name": "D", "password": "h", "grade_data": {"x": 1}}])")},
                       options);
  // JSON keeps one "": the record is not refused for it (the repeat is not named), and counts it once.
  ASSERT_EQ(c.rows["users"].size(), 2u) << rejects.str();
  EXPECT_EQ(c.rows["users"][0][2], "a");
  EXPECT_EQ(c.rows["users"][1][2], "d");
  EXPECT_EQ(c.report.unknown_fields[""], 1);
  EXPECT_EQ(c.report.unknown_fields["grade_data"], 1);
  EXPECT_EQ(c.report.records_rejected, 3);
  std::istringstream lines(rejects.str());
  std::vector<boost::json::object> rejected;
  for (std::string line; std::getline(lines, line);) rejected.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_NE(std::string(rejected[0].at("reason").as_string()).find("the key \"x\" appears twice"), std::string::npos);
  EXPECT_EQ(boost::json::serialize(rejected[0].at("record").at("grade_data")), R"({"x":3,"y":2})");
  const std::string late = "f" + std::to_string(FieldNames::kMaxNames + 5);
  EXPECT_NE(std::string(rejected[1].at("reason").as_string()).find("the key \"" + late + "\" appears twice"),
            std::string::npos);
  EXPECT_EQ(rejected[1].at("record").as_object().size(), 3 + FieldNames::kMaxNames + 10);
  EXPECT_EQ(rejected[1].at("record").at(late), 2);
  EXPECT_NE(std::string(rejected[2].at("reason").as_string()).find("the key \"name\" appears twice"),
            std::string::npos);
}

// Strings and keys that cross the reader's 1 MiB chunks arrive in parts: they map whole.
TEST_F(ImportPath, ValuesAndKeysAcrossReadChunksMapWhole) {
  const std::string name(255, 'n');
  const std::string head = R"([{"uid": "a", "pad": ")";
  const std::string pad((1 << 20) - 100 - head.size() - std::string(R"(", "name": ")").size(), 'p');
  const std::string key(2 << 20, 'k');  // across the second and third chunks
  Collected c = import({file("export.json", head + pad + R"(", "name": ")" + name + R"(", "password": "h", ")" + key +
                                                R"(": 1}, {"uid": "b", "name": "B", "password": "h"}])")});
  ASSERT_EQ(c.rows["users"].size(), 2u);
  EXPECT_EQ(c.rows["users"][0][1], name);
  EXPECT_EQ(c.rows["users"][1][2], "b");
  EXPECT_EQ(c.report.unknown_fields["pad"], 1);
  EXPECT_EQ(c.report.unknown_fields[key], 1);
}

// Many users (one section each), as an export: enough batches to fill the feed's queue.
std::string many_users(int n) {
  std::string json = "[";
  for (int i = 0; i < n; ++i)
    json += std::string(i ? "," : "") + R"({"uid": "u)" + std::to_string(i) + R"(", "name": "N", "password": "H",)" +
            R"( "sections": [{"abbreviation": "CSA", "name": "A", "year": 2024}]})";
  return json + "]";
}

// An import begun ahead of its sink (as a migration begins it before backing up its target)
// gives, once drained, exactly what import_files gives; its worker has read ahead meanwhile.
TEST_F(ImportPath, AFeedBegunAheadGivesWhatTheImportGives) {
  const fs::path f = file("many.json", many_users(3000));
  ImportOptions options;
  options.batch_rows = 100;
  options.default_password_hash = [] { return std::string("DEFAULT-HASH"); };
  const Collected direct = import({f}, options);
  ImportFeed feed({f}, schema_, mapping_, options);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the worker fills the queue
  Rows rows;
  ImportReport report = feed.drain([&](ImportBatch&& b) {
    sdk::BatchView view(b.columns, b.array.a);
    for (int64_t r = 0; r < view.rows(); ++r) {
      std::vector<std::string> row;
      for (size_t col = 0; col < view.columns(); ++col) row.push_back(cell_text(view, col, r));
      rows[b.table].push_back(std::move(row));
    }
  });
  EXPECT_EQ(rows, direct.rows);
  EXPECT_EQ(report.rows, direct.report.rows);
  EXPECT_EQ(report.records_loaded, 3000);
  EXPECT_THROW(feed.drain([](ImportBatch&&) {}), Error);
}

// A feed given up before it is drained (the backup failed, say) stops its worker, which is
// blocked on the full queue, instead of waiting for the whole export; one whose input is bad
// reports the error when drained, as import_files does.
TEST_F(ImportPath, AFeedGivenUpStopsAndABadOneReportsAtDrain) {
  const fs::path f = file("many.json", many_users(20000));
  ImportOptions options;
  options.batch_rows = 50;
  options.default_password_hash = [] { return std::string("DEFAULT-HASH"); };
  const auto t0 = std::chrono::steady_clock::now();
  { ImportFeed feed({f}, schema_, mapping_, options); }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  ImportFeed bad({file("bad.json", R"([{"uid": "u1", "name": "A"}, {"uid": )")}, schema_, mapping_, options);
  try {
    bad.drain([](ImportBatch&&) {});
    ADD_FAILURE() << "a truncated export drained without an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kDataError) << e.what();
  }
}

}  // namespace
}  // namespace dbtool
