#pragma once
// The Prometheus text exposition format 0.0.4, documented once here:
//
//   # HELP <name> <help, with \ and newline escaped as \\ and \n>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped as \\ \" \n>",...} <value>
//
// Values are Go-style floats: integers print without a fraction, +Inf, -Inf and NaN by name.
// Histograms print <name>_bucket{...,le="<bound>"} cumulative counts ending with le="+Inf", then
// <name>_sum and <name>_count. Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and may not start with "__". Thread-safe (pure functions).

#include <span>
#include <string>
#include <string_view>

namespace berth::metrics {

bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

void AppendValue(std::string& out, double v);
// "# HELP" and "# TYPE" lines.
void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type);
// One sample line. `extra_name`/`extra_value` add one more label after the others (histogram
// "le"); empty `extra_name` adds none. label_names and label_values have the same size.
void AppendSample(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, std::string_view extra_name,
                  std::string_view extra_value, std::string_view value);

}  // namespace berth::metrics
