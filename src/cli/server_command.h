#pragma once

// The commands served by orb's server program, orb-server: `orb serve`,
// `orb server start|stop|status` and `orb mcp serve` (src/mcp/mcp_command.h). The `orb` binary that HostFactory starts for every
// call stays small and quick to load: it parses these commands like any other and
// then hands the process over to orb-server (src/cli/server_handoff.cc), which links
// the HTTP server and runs them (src/api/server_command.cc). Each binary links one
// definition of RunServerCommand.

#include "cli/context.h"

namespace orb {

// Which server command was given.
enum class ServerAction {
  kServe,   // orb serve, orb server start --foreground: serve until SIGTERM/SIGINT
  kStart,   // orb server start: serve in the background, pid file written
  kStop,    // orb server stop: SIGTERM to the background server, wait for it to exit
  kStatus,  // orb server status: whether the background server runs, and where
  kMcpServe,  // orb mcp serve: the MCP door on stdio, or over HTTP with --port
};

// A parsed server command.
struct ServerCommand {
  ServerAction action = ServerAction::kServe;
  int stop_timeout_sec = 30;  // kStop: how long to wait for the server to exit
  bool mcp_http = false;      // kMcpServe: streamable HTTP (--port given) instead of stdio
  bool read_only = false;     // kMcpServe: --read-only, mutating tools refuse
};

// Runs `command`; returns the exit code. In `orb` this replaces the process with
// orb-server given the same command line (c.args), and returns only when that fails.
int RunServerCommand(Context& c, const ServerCommand& command);

}  // namespace orb
