#pragma once

// `orb mcp serve` in orb-server (handed over by `orb` like `orb serve`): the MCP door
// on stdio (the default) or, with --port, over streamable HTTP on a server of its own;
// and the options of the door mounted at /mcp inside `orb serve`.

#include "cli/context.h"
#include "cli/server_command.h"
#include "mcp/mcp_http.h"
#include "mcp/mcp_server.h"

namespace orb::mcp {

// The MCP log level (debug, info, notice, warning, error, critical, alert,
// emergency) of orb's logging.level (trace, debug, info, warn, error, critical, off).
std::string McpLogLevel(const std::string& orb_level);

// The door's options from `config` (logging.level, server.cors_origins) and
// --read-only.
McpHttpOptions HttpDoorOptions(const Config& config, bool read_only);

// Runs `orb mcp serve`: stdio unless command.mcp_http. Returns the exit code.
int RunMcpServe(Context& c, const ServerCommand& command);

}  // namespace orb::mcp
