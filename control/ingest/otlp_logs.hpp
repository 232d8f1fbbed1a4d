// POST /v1/logs: OTLP/HTTP logs in their JSON encoding (ExportLogsServiceRequest,
// resourceLogs[].scopeLogs[].logRecords[]) mapped to events (docs/api.md,
// "OTLP logs"):
//  * the resource attributes service.name and service.instance.id name the
//    service and instance of every record under it;
//  * a record with an exception.type attribute is an event of kind = that
//    type, message = exception.message (else the body), level from its
//    severityNumber (below WARN: error), detail = the other attributes, the
//    body, severityText and trace/span ids;
//  * any other record is an event of kind "log" when its severityNumber is 13
//    (WARN) or more (17 ERROR, 21 FATAL -> critical); below, it is counted
//    and dropped.
// JSON-encoding traps handled: 64-bit integers (timeUnixNano, intValue) come
// as strings or numbers, enums (severityNumber) as integers, trace and span
// ids as hex strings. Field names are lowerCamelCase; unknown fields are
// ignored, as the OTLP spec asks of receivers.
#pragma once

#include "ingest/reports.hpp"

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace tg::control::ingest {

struct OtlpLogs {
  std::vector<EventReport> events;  // service (and instance) set from the resource
  std::size_t below_level = 0;      // plain records under WARN: counted, not stored
  std::size_t rejected = 0;         // records that cannot be taken (no service.name)
  std::string rejected_message;     // why, for partialSuccess.errorMessage
};

// A FieldError (400) when the body is not an OTLP logs request at all.
std::variant<OtlpLogs, FieldError> parse_otlp_logs(std::string_view body);

// severityNumber -> level: 21+ critical, 17+ error, 13+ warning, 9+ info,
// else debug.
std::string level_of_severity(std::int64_t severity_number);

}  // namespace tg::control::ingest
