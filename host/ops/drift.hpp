// What changed in a live database since dbtool last recorded a run in it, and how it differs
// from the schema files: tables, columns, indexes, row counts and content checksums.
#pragma once

#include "plugins/backend.hpp"
#include "schema/schema.hpp"

#include <boost/json.hpp>

namespace dbtool {

// Compares the database behind `session` (described as `description`) with `schema` (from
// schemas/) and with `last_run`, the report of the last recorded run (null when there is none).
// Returns {"schema_dir_checksum", "compared_with_run", "differences": [{"kind", "table",
// "column", "message", ...}]}; an empty list means nothing drifted. Reads every table once.
boost::json::object find_drift(BackendSession& session, const boost::json::object& description, const Schema& schema,
                               const boost::json::value& last_run);

}  // namespace dbtool
