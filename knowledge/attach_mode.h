#pragma once
// XDP attach modes, from most to least aggressive. The ladder steps down
// native -> generic -> tc when an attach fails or misbehaves.

#include <optional>
#include <string_view>

namespace reflex {

enum class AttachMode { none, native, generic, tc };

constexpr std::string_view to_string(AttachMode m) {
  switch (m) {
    case AttachMode::native: return "native";
    case AttachMode::generic: return "generic";
    case AttachMode::tc: return "tc";
    case AttachMode::none: break;
  }
  return "none";
}

constexpr std::optional<AttachMode> parse_attach_mode(std::string_view s) {
  if (s == "native" || s == "drv") return AttachMode::native;
  if (s == "generic" || s == "skb") return AttachMode::generic;
  if (s == "tc") return AttachMode::tc;
  if (s == "none") return AttachMode::none;
  return std::nullopt;
}

}  // namespace reflex
