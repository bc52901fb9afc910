#pragma once

// The MCP prompts: provision_infrastructure, troubleshoot_deployment and
// infrastructure_best_practices. Each is filled with live data read through the broker
// (templates, requests, machines, providers; the tail of orb's log file) and no cloud
// call.

#include <string>

#include "mcp/mcp_context.h"
#include "mcp/mcp_jsonrpc.h"

namespace orb::mcp {

// Lines of orb's log file (logging.file) that troubleshoot_deployment shows.
inline constexpr int kLogTailLines = 40;

// The result of prompts/list: {"prompts": [{name, title, description, arguments}]}.
json ListPrompts();

// The result of prompts/get: {description, messages: [{role: "user", content: {type:
// "text", text}}]}. Throws RpcError(kInvalidParams) for an unknown prompt, a missing
// required argument, an unknown argument or one that is not a string (naming it).
json GetPrompt(McpContext& ctx, const std::string& name, const json& arguments);

// The last `n` lines of the file at `path` (read from its end, at most 64 KiB), or ""
// when it cannot be read.
std::string TailOfFile(const std::string& path, int n);

}  // namespace orb::mcp
