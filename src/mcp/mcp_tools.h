#pragma once

// The MCP tools: one table of name, title, description, input and output JSON
// Schemas, annotations and handler. Handlers call the broker as the REST door's routes
// do for the same operations and format its records (model/records.h,
// broker/broker_records.h, config/template_loader.h), wrapped in an object.

#include <string>

#include "mcp/mcp_context.h"
#include "mcp/mcp_jsonrpc.h"

namespace orb::mcp {

// The result of tools/list: {"tools": [{name, title, description, inputSchema,
// outputSchema, annotations}]}.
json ListTools();

// Runs tool `name` with `arguments` (an object, or null for none). Returns a
// CallToolResult: {content: [{type: "text", text: pretty JSON}], structuredContent,
// isError: false}, or {content: [{type: "text", text: what is wrong}], isError: true}
// when the operation failed (an orb::Error: unknown id, cloud error, value out of
// range for the template, read-only server). Throws RpcError(kInvalidParams) for an
// unknown tool ("unknown tool: X") and for arguments that do not fit the tool's input
// schema (naming the field).
json CallTool(McpContext& ctx, const std::string& name, const json& arguments);

// The names of the tools that change something (request_machines, return_machines,
// cancel_request).
bool IsMutatingTool(const std::string& name);

}  // namespace orb::mcp
