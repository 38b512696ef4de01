// Reading back the runs dbtool recorded in a database's dbtool_history table.
#pragma once

#include "plugins/backend.hpp"

#include <boost/json.hpp>

namespace dbtool {

// Every history row as a JSON object by column name, oldest first; "report" as the object it
// holds (when it parses). The caller checks that the table exists and the backend can read
// tables; throws dbtool::Error when reading fails.
boost::json::array read_history(BackendSession& session);

}  // namespace dbtool
