#include "plan/diagnostic.h"

namespace reflex::plan {

std::string Diagnostic::to_string() const {
  std::string out = loc.to_string() + ": " + (level == Level::error ? "error" : "warning") + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

int LoadReport::errors() const {
  int n = 0;
  for (const auto& d : diagnostics) n += d.level == Diagnostic::Level::error;
  return n;
}

int LoadReport::warnings() const {
  return static_cast<int>(diagnostics.size()) - errors();
}

std::string LoadReport::first_error() const {
  for (const auto& d : diagnostics)
    if (d.level == Diagnostic::Level::error) return d.to_string();
  return {};
}

}  // namespace reflex::plan
