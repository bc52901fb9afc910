#pragma once

// The MCP stdio transport (`orb mcp serve`, the default): JSON-RPC messages as lines
// of UTF-8 on stdin and stdout, one JSON object per line, no embedded newline. One
// client, one session, messages handled in the order they arrive. Notifications (a
// subscribed resource changed, a log message) are written between responses; one
// mutex keeps every line whole. Nothing else ever reaches the protocol's stdout:
// the transport moves it to a descriptor of its own and points descriptor 1 at
// stderr, so a stray print cannot corrupt the stream; orb's logs go to its log file.
//
// A line that is not JSON is answered with a -32700 error (McpServer::ParseError)
// and reading goes on; a line longer than kMaxLineBytes is answered with a -32600
// error and skipped; end of input ends serving (exit code 0), as do SIGTERM and
// SIGINT.

#include <cstddef>
#include <memory>
#include <string>

#include "mcp/mcp_server.h"

namespace orb::mcp {

// The longest line (message) read: 4 MiB.
inline constexpr std::size_t kMaxLineBytes = std::size_t{4} << 20;

struct StdioOptions {
  int in_fd = 0;             // where messages are read
  int out_fd = 1;            // where messages are written (see ServeStdio)
  bool guard_stdout = true;  // out_fd == 1: move it aside, fd 1 then points at stderr
  std::size_t max_line_bytes = kMaxLineBytes;
  std::string log_level = "info";  // the session's least level of notifications/message
};

// Serves `server` on one stdio session until end of input or SIGTERM/SIGINT (when
// `handle_signals`); returns the exit code (0, or 1 when the output is gone).
// The caller runs the change watch (mcp_changes.h) if it wants subscriptions fed.
int ServeStdio(McpServer& server, const StdioOptions& options, bool handle_signals = true);

}  // namespace orb::mcp
