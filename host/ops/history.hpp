// dbtool_history, the table in which every run records itself: its rows read as JSON objects
// and written back by column name, so the rows of one database can be carried into another
// (migrate carries them over, restore merges them) and a new run recorded the same way.
#pragma once

#include "plugins/backend.hpp"
#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <string>

namespace dbtool {

// The rows of dbtool_history, oldest first, each an object keyed by column name ("id",
// "started_at", ..., "report" parsed into the object it is). Empty when the session's
// database has no such table (`description` is its describe()). Throws dbtool::Error.
boost::json::array read_history(BackendSession& session, const boost::json::object& description);

// The row recording one run of `operation` on `schema`, finished now; `report` is the run's.
boost::json::object history_row(const std::string& operation, const std::string& started,
                                const std::string& schema_name, int64_t schema_version,
                                const std::string& schema_checksum, const std::string& source,
                                const boost::json::object& report);

// Loads `rows` into the stage's dbtool_history by column name (a column a row lacks is NULL;
// keys that are no column are ignored). A row with an "id" keeps it; one without gets the next
// one the table generates. Returns the rows written. Throws dbtool::Error.
int64_t write_history(BackendStage& stage, const boost::json::array& rows);

// The rows of `newer` (a database's history) that `older` (the history a backup kept) does not
// hold, in their order: the runs recorded since. Rows are the same run when every column but
// the id is equal.
boost::json::array runs_since(const boost::json::array& older, const boost::json::array& newer);

}  // namespace dbtool
