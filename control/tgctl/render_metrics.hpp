// Table output of the monitoring responses (render_tables.cpp dispatches here).
#pragma once

#include "tenantgate/v1/admin.pb.h"

#include <ostream>

namespace tg::tgctl {

// `request` (may be null) says which name columns the rows have.
void top_table(const tenantgate::v1::TopRequest* request, const tenantgate::v1::TopResponse& response,
               std::ostream& out);
void series_table(const tenantgate::v1::SeriesResponse& response, std::ostream& out);

}  // namespace tg::tgctl
