#pragma once
// The Monitor reads interfaces through the namespace helpers in common/.

#include "common/netns.h"

namespace reflex::monitor {
using reflex::NetnsHandle;
using reflex::open_netns;
using reflex::run_in_netns;
using reflex::socket_in_netns;
}  // namespace reflex::monitor
