#pragma once

// How the broker opens its store: the storage.* settings turned into StoreOptions.

#include "config/config_loader.h"
#include "store/store.h"

namespace orb {

// StoreOptions from `config`'s storage.* settings; for postgresql the password is
// storage.password, else the content of storage.password_file (checked like every
// credential file: not writable or readable by others; one trailing newline
// dropped). Throws Error(kInvalidConfig) naming the setting when the file cannot be
// used. Never puts a secret in a message.
StoreOptions StoreOptionsFrom(const Config& config);

}  // namespace orb
