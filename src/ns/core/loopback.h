// ns/core: loopback networking helpers for tools and tests that start servers on this machine.
// Errors: ns::Error io when no port can be had.
#pragma once

namespace ns::core {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released): another program may
// take it before the caller binds it, which is good enough for tests and local tools.
int free_loopback_port();

}  // namespace ns::core
