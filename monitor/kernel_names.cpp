#include "monitor/kernel_names.h"

#include <bpf/btf.h>

#include <cerrno>
#include <memory>

#include "bpf/drop_reasons_kern_user.h"

namespace reflex::monitor {

Result<EnumNames> kernel_enum_names(const std::string& enum_name, const std::string& strip_prefix) {
  std::unique_ptr<btf, void (*)(btf*)> b(btf__load_vmlinux_btf(), btf__free);
  if (!b) return errno_error("load kernel BTF", errno, "the kernel needs CONFIG_DEBUG_INFO_BTF");
  int id = btf__find_by_name_kind(b.get(), enum_name.c_str(), BTF_KIND_ENUM);
  if (id < 0) return make_error("kernel BTF has no enum " + enum_name, "this kernel predates it");
  const btf_type* t = btf__type_by_id(b.get(), static_cast<__u32>(id));
  const struct btf_enum* e = btf_enum(t);
  EnumNames out;
  for (int i = 0; i < btf_vlen(t); ++i) {
    std::string n = btf__name_by_offset(b.get(), e[i].name_off);
    if (n.rfind(strip_prefix, 0) == 0) n = n.substr(strip_prefix.size());
    out.emplace(static_cast<std::uint32_t>(e[i].val), std::move(n));
  }
  return out;
}

Result<DropReasonNames> DropReasonNames::load() {
  auto names = kernel_enum_names("skb_drop_reason", "SKB_DROP_REASON_");
  if (!names) return names.error();
  DropReasonNames d;
  d.names_ = std::move(*names);
  return d;
}

std::string DropReasonNames::name(std::uint32_t reason) const {
  if (reason == DROP_REASON_XDP) return "XDP";
  if (auto it = names_.find(reason); it != names_.end()) return it->second;
  return "reason_" + std::to_string(reason);
}

}  // namespace reflex::monitor
