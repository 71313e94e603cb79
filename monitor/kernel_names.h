#pragma once
// Names of kernel enum values, read from the running kernel's BTF, so drop
// reasons print as the kernel numbers them today ("NO_SOCKET",
// "NETFILTER_DROP") rather than as a table copied from one kernel version.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/result.h"

namespace reflex::monitor {

using EnumNames = std::unordered_map<std::uint32_t, std::string>;

// Values of `enum enum_name` in /sys/kernel/btf/vmlinux, with strip_prefix
// removed from names that start with it.
Result<EnumNames> kernel_enum_names(const std::string& enum_name, const std::string& strip_prefix);

// SKB_DROP_REASON_NO_SOCKET -> "NO_SOCKET"; reflex's DROP_REASON_XDP ->
// "XDP" (as the kernel's own SKB_DROP_REASON_XDP); unknown values -> "reason_<n>".
class DropReasonNames {
 public:
  static Result<DropReasonNames> load();
  std::string name(std::uint32_t reason) const;

 private:
  EnumNames names_;
};

}  // namespace reflex::monitor
