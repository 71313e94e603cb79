#pragma once
// Large buffers that are written once from front to back (a million rules'
// tables, a rules file's parse) take most of their time in page faults: one
// fault per 4 KiB, each an exit to the hypervisor on a virtual machine.
// Asking for transparent huge pages on such a buffer before it is touched
// makes that one fault per 2 MiB. Only a hint: where THP is off (or the
// buffer is small) nothing changes.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace reflex {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// The whole 2 MiB pages inside [p, p + bytes) are asked for as huge pages.
inline void advise_huge_pages(const void* p, std::size_t bytes) {
  if (bytes < 2 * kHugePage) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t lo = (a + kHugePage - 1) & ~(kHugePage - 1), hi = (a + bytes) & ~(kHugePage - 1);
  if (hi > lo) (void)::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

// reserve(n) on a vector that will be filled next, its memory in huge pages.
template <class Vec>
void reserve_huge(Vec& v, std::size_t n) {
  v.reserve(n);
  advise_huge_pages(v.data(), v.capacity() * sizeof(typename Vec::value_type));
}

}  // namespace reflex
