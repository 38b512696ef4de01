// The MySQL/MariaDB backend as a migration source on a database the app wrote itself (not
// through dbtool): MariaDB's own spellings described as portable types, DATETIME values in the
// canonical form, and a snapshot that ignores the app's INSERTs, UPDATEs and DELETEs meanwhile
// (InnoDB's MVCC; the conformance suite covers a dbtool cut-over as the writer).
#include <gtest/gtest.h>

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>

#include <mysql.h>
#include <boost/json.hpp>

#include "plugins/plugin_error.hpp"
#include "plugins/plugin_registry.hpp"
#include "run_dbtool.hpp"
#include "test_servers.hpp"

namespace dbtool {
namespace {
namespace json = boost::json;

using Err = PluginErrorHolder;  // the host's owner of a dbtool_error

class App {  // the app's own connection, autocommit
 public:
  App(const testing::MysqlServer& server) {
    m_ = mysql_init(nullptr);
    const std::string rest = server.uri.substr(server.uri.find("://") + 3);
    const std::string user = rest.substr(0, rest.find('@'));
    if (!mysql_real_connect(m_, nullptr, user.c_str(), server.password.c_str(), nullptr, 0, server.socket.c_str(), 0))
      throw std::runtime_error(std::string("connect: ") + mysql_error(m_));
  }
  ~App() { mysql_close(m_); }
  void exec(const std::string& sql) {
    if (mysql_query(m_, sql.c_str()) != 0) throw std::runtime_error(sql + ": " + mysql_error(m_));
    if (MYSQL_RES* r = mysql_store_result(m_)) mysql_free_result(r);
  }

 private:
  MYSQL* m_ = nullptr;
};

TEST(MysqlRead, DescribesTheAppsOwnDdlAndItsSnapshotIgnoresTheAppsWrites) {
  REQUIRE_MYSQL(server);
  ASSERT_FALSE(server->socket.empty()) << "DBTOOL_TEST_MYSQL_SOCKET is needed";
  const std::string uri = testing::fresh_database_uri(server->uri, "read");
  const std::string db = testing::database_of(uri);
  App app(*server);
  app.exec("CREATE DATABASE " + db);
  app.exec(
      "CREATE TABLE " + db +
      ".users (id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR(40) NOT NULL, created DATETIME, "
      "payload JSON, active BOOL NOT NULL DEFAULT 1, price DECIMAL(10,2), seen DATETIME DEFAULT CURRENT_TIMESTAMP, "
      "PRIMARY KEY (id))");
  app.exec("INSERT INTO " + db +
           ".users (id, name, created, payload, price) SELECT seq, CONCAT('user ', seq), "
           "'2024-01-02 03:04:05', '{\"a\": 1}', 9.5 FROM " +
           db + ".seq_1_to_6000");

  const LoadedPlugin plugin =
      load_plugin(testing::dbtool_binary().parent_path() / ".." / "lib" / "dbtool" / "plugins" / "libdbtool-mysql.so");
  const dbtool_backend_api* api = plugin.backend;
  std::string opts = json::serialize(json::object{{"uri", uri}, {"password", server->password}, {"read_only", true}});
  dbtool_session* s = nullptr;
  {
    Err err;
    ASSERT_EQ(api->open(opts.c_str(), &s, &err.e), DBTOOL_OK) << err.message_or("");
  }
  {
    Err err;
    ASSERT_EQ(api->snapshot_begin(s, &err.e), DBTOOL_OK) << err.message_or("");
  }
  int next = 100000;
  auto app_writes = [&] {
    app.exec("INSERT INTO " + db + ".users (id, name) VALUES (" + std::to_string(next++) + ", 'new')");
    app.exec("UPDATE " + db + ".users SET name = 'changed' WHERE id = 1");
    app.exec("DELETE FROM " + db + ".users WHERE id = " + std::to_string(next - 99998));
  };
  app_writes();  // after snapshot_begin, before anything is read

  dbtool_text text{};
  {
    Err err;
    ASSERT_EQ(api->describe_schema(s, &text, &err.e), DBTOOL_OK) << err.message_or("");
  }
  json::value schema = json::parse(std::string(text.data, text.size));
  text.release(&text);
  EXPECT_EQ(json::serialize(schema.at("tables").at(0).at("columns")),
            R"([{"name":"id","type":"int64","nullable":false,"auto_increment":true},)"
            R"({"name":"name","type":"text","max_length":40,"nullable":false},)"
            R"({"name":"created","type":"datetime","nullable":true},)"
            R"({"name":"payload","type":"json","nullable":true},)"
            R"({"name":"active","type":"bool","nullable":false,"default":true},)"
            R"({"name":"price","type":"float64","nullable":true},)"
            R"({"name":"seen","type":"datetime","nullable":true}])");

  auto read_users = [&](bool write_midway) {
    ArrowArrayStream raw{};
    Err err;
    if (api->read_table(s, "users", &raw, &err.e) != DBTOOL_OK) throw std::runtime_error(err.message_or(""));
    sdk::StreamReader reader(&raw);
    std::vector<std::tuple<int64_t, std::string, std::string>> rows;
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r)
        rows.emplace_back(v.get_int64(0, r), std::string(v.get_bytes(1, r)),
                          v.is_null(2, r) ? "" : std::string(v.get_bytes(2, r)));
      if (write_midway) {
        app_writes();  // inside the stream
        write_midway = false;
      }
    }
    return rows;
  };
  auto in_snapshot = read_users(true);
  {
    Err err;
    ASSERT_EQ(api->snapshot_end(s, &err.e), DBTOOL_OK) << err.message_or("");
  }
  ASSERT_EQ(in_snapshot.size(), 6000u);
  for (size_t i = 0; i < in_snapshot.size(); ++i) {
    EXPECT_EQ(std::get<0>(in_snapshot[i]), static_cast<int64_t>(i + 1));
    EXPECT_EQ(std::get<1>(in_snapshot[i]), "user " + std::to_string(i + 1));
    EXPECT_EQ(std::get<2>(in_snapshot[i]), "2024-01-02 03:04:05.000000");
  }
  auto after = read_users(false);
  EXPECT_EQ(after.size(), 6000u) << "two inserts and two deletes";
  EXPECT_EQ(std::get<1>(after[0]), "changed");
  api->close(s);
  app.exec("DROP DATABASE " + db);
}

}  // namespace
}  // namespace dbtool
