#pragma once
// The egress classifier (bpf/tc_shaper.bpf.c) for one interface: its LPM trie
// of shaped destination prefixes and its tcx egress link, pinned under one
// directory so classification outlives the process that set it up (the htb
// classes outlive it anyway; without the link, prefix traffic would fall back
// to the default class on a restart).
//
// The program is loaded only when a prefix is first shaped; an interface
// shaped as a whole runs no BPF at all.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/fd.h"
#include "common/prefix.h"
#include "common/result.h"
#include "monitor/netns.h"

struct tc_shaper;

namespace reflex::execute::shaping {

class Classifier {
 public:
  // Adopts what is pinned in dir (nothing pinned is fine: nothing is loaded yet).
  static Result<Classifier> open(std::string dir, std::string where);
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

  // prefix -> htb classid, as the trie holds them.
  Result<std::map<Prefix, std::uint32_t>> entries() const;
  Status put(const Prefix& p, std::uint32_t classid);
  Status erase(const Prefix& p);

  // The pinned link is alive and on ifindex.
  bool attached(int ifindex) const;
  // Loads the program if needed and attaches it at tcx egress of ifindex
  // (an ifindex is namespace-local, so the attach runs inside ns).
  Status attach(int ifindex, const monitor::NetnsHandle& ns);
  Status detach();
  // Detaches and removes the pin directory.
  Status remove();

  // The program's packet counters (TC_SHAPER_C_*), summed over CPUs; zeros when not loaded.
  Result<std::uint64_t> counter(std::uint32_t index) const;

  const std::string& dir() const { return dir_; }

 private:
  Classifier() = default;
  Status load();  // the skeleton, reusing pinned maps (or pinning new ones)
  struct SkelDeleter {
    void operator()(tc_shaper* s) const;
  };
  std::string dir_, where_;
  std::unique_ptr<tc_shaper, SkelDeleter> skel_;
  Fd prefixes_, counters_;  // pinned maps, open even while no program is loaded here
};

}  // namespace reflex::execute::shaping
