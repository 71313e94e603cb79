#pragma once
// DeepBox<T>: an optional T on the heap, copied deeply. For state most
// entries of a large map never need (a per-source series detector is ~2 KB;
// most sources are seen once), in a type that must stay copyable (an
// Analyzer is copied whole to replay or compare it).

#include <memory>
#include <utility>

namespace reflex::analyze {

template <typename T>
class DeepBox {
 public:
  DeepBox() = default;
  DeepBox(const DeepBox& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  DeepBox(DeepBox&&) noexcept = default;
  DeepBox& operator=(const DeepBox& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  DeepBox& operator=(DeepBox&&) noexcept = default;

  template <typename... Args>
  T& emplace(Args&&... args) {
    p_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *p_;
  }
  explicit operator bool() const { return p_ != nullptr; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace reflex::analyze
