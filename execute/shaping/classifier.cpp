#include "execute/shaping/classifier.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "execute/shaping/trie_key.h"
#include "guard/attach.h"
#include "guard/bpf_util.h"
#include "tc_shaper.skel.h"
#include "tc_shaper_kern_user.h"

namespace fs = std::filesystem;

namespace reflex::execute::shaping {
namespace {

// bpffs names: no dots.
constexpr const char* kPinPrefixes = "prefixes";
constexpr const char* kPinCounters = "counters";
constexpr const char* kPinLink = "link";

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

void Classifier::SkelDeleter::operator()(tc_shaper* s) const { tc_shaper__destroy(s); }

Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

Result<Classifier> Classifier::open(std::string dir, std::string where) {
  Classifier c;
  c.dir_ = std::move(dir);
  c.where_ = std::move(where);
  if (exists(c.dir_ + "/" + kPinPrefixes)) {
    auto m = guard::open_pinned(c.dir_ + "/" + kPinPrefixes);
    if (!m) return m.error();
    c.prefixes_ = std::move(*m);
  }
  if (exists(c.dir_ + "/" + kPinCounters)) {
    auto m = guard::open_pinned(c.dir_ + "/" + kPinCounters);
    if (!m) return m.error();
    c.counters_ = std::move(*m);
  }
  return c;
}

Status Classifier::load() {
  if (skel_) return ok();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return make_error("create pin directory " + dir_ + ": " + ec.message(),
                      "is bpffs mounted at the pin root?");
  if (!guard::is_bpffs(dir_))
    return make_error("pin directory " + dir_ + " is not on a bpf filesystem",
                      "mount -t bpf bpf /sys/fs/bpf");
  std::unique_ptr<tc_shaper, SkelDeleter> skel(tc_shaper__open());
  if (!skel) return errno_error("open the tc_shaper program for " + where_, errno);
  // The policer is the measured alternative (bench/shaping), not part of shaping.
  bpf_program__set_autoload(skel->progs.tc_shaper_police, false);
  std::string pp = dir_ + "/" + kPinPrefixes, pc = dir_ + "/" + kPinCounters;
  bpf_map__set_pin_path(skel->maps.shaper_prefixes, pp.c_str());
  bpf_map__set_pin_path(skel->maps.shaper_counters, pc.c_str());
  if (int err = tc_shaper__load(skel.get()); err < 0)
    return errno_error("load the tc_shaper program for " + where_, -err,
                       "a map pinned in " + dir_ + " by another reflex version may not fit: remove it");
  prefixes_ = Fd(::dup(bpf_map__fd(skel->maps.shaper_prefixes)));
  counters_ = Fd(::dup(bpf_map__fd(skel->maps.shaper_counters)));
  skel_ = std::move(skel);
  return ok();
}

Result<std::map<Prefix, std::uint32_t>> Classifier::entries() const {
  std::map<Prefix, std::uint32_t> out;
  if (!prefixes_.valid()) return out;
  tc_shaper_key key{}, next{};
  const void* cur = nullptr;
  while (bpf_map_get_next_key(prefixes_.get(), cur, &next) == 0) {
    tc_shaper_class v{};
    if (bpf_map_lookup_elem(prefixes_.get(), &next, &v) == 0) out[trie_prefix(next)] = v.classid;
    key = next;
    cur = &key;
  }
  if (errno != ENOENT) return errno_error("read the shaped prefixes of " + where_, errno);
  return out;
}

Status Classifier::put(const Prefix& p, std::uint32_t classid) {
  if (!prefixes_.valid())
    if (auto s = load(); !s) return s;
  tc_shaper_key k = trie_key(p);
  tc_shaper_class v{classid, 0};
  if (bpf_map_update_elem(prefixes_.get(), &k, &v, BPF_ANY) < 0)
    return errno_error("classify " + p.to_string() + " on " + where_, errno,
                       errno == E2BIG || errno == ENOSPC ? "too many shaped prefixes" : "");
  return ok();
}

Status Classifier::erase(const Prefix& p) {
  if (!prefixes_.valid()) return ok();
  tc_shaper_key k = trie_key(p);
  if (bpf_map_delete_elem(prefixes_.get(), &k) < 0 && errno != ENOENT)
    return errno_error("stop classifying " + p.to_string() + " on " + where_, errno);
  return ok();
}

bool Classifier::attached(int ifindex) const {
  auto link = guard::open_pinned(dir_ + "/" + kPinLink);
  if (!link) return false;
  auto st = guard::link_state(link->get());
  return st && st->attached && static_cast<int>(st->ifindex) == ifindex;
}

Status Classifier::attach(int ifindex, const monitor::NetnsHandle& ns) {
  if (attached(ifindex)) return ok();
  if (auto s = load(); !s) return s;
  // A pinned link whose device went away (or moved) is dead: replace it.
  if (auto s = detach(); !s) return s;
  int fd = -1, err = 0;
  auto st = monitor::run_in_netns(ns, [&] {
    fd = bpf_link_create(bpf_program__fd(skel_->progs.tc_shaper_classify), ifindex, kBpfTcxEgress, nullptr);
    if (fd < 0) err = errno;
  });
  if (!st) return st.error();
  if (fd < 0)
    return errno_error("attach the egress classifier to " + where_, err,
                       err == EINVAL ? "the kernel lacks tcx (Linux 6.6+)" : "");
  Fd link(fd);
  return guard::pin(link.get(), dir_ + "/" + kPinLink);
}

Status Classifier::detach() {
  std::string path = dir_ + "/" + kPinLink;
  if (!exists(path)) return ok();
  if (auto link = guard::open_pinned(path); link)
    if (auto s = guard::detach_link(link->get()); !s) return s;
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return errno_error("unpin " + path, errno);
  return ok();
}

Status Classifier::remove() {
  if (auto s = detach(); !s) return s;
  skel_.reset();
  prefixes_ = Fd();
  counters_ = Fd();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec)
    return make_error("remove pins in " + dir_ + ": " + ec.message(), "remove them by hand: rm -r " + dir_);
  return ok();
}

Result<std::uint64_t> Classifier::counter(std::uint32_t index) const {
  if (!counters_.valid()) return std::uint64_t{0};
  auto v = guard::percpu_sum(counters_.get(), index, 1);
  if (!v) return v.error();
  return (*v)[0];
}

}  // namespace reflex::execute::shaping
